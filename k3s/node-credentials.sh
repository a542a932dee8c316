#!/bin/bash
# node-credentials.sh: run on the k3s server (as root). Mints what one systemk node needs to join the
# cluster, signed by k3s's own CAs, into one directory that you then copy to the node:
#
#   kubeconfig            the node's kubeconfig: server URL, trusts server-ca.crt, presents client-kubelet.crt
#   client-kubelet.crt    the node's client certificate, CN=system:node:NAME, O=system:nodes, signed by
#   client-kubelet.key    k3s's client CA: the API server's Node authorizer knows the node by it
#   serving-kubelet.crt   the kubelet API's serving certificate (systemk --certfile/--keyfile), signed by
#   serving-kubelet.key   k3s's server CA, for the node's addresses and name: k3s checks it for kubectl logs
#   client-ca.crt         k3s's client CA (systemk --client-ca-file): the API server's certificate for
#                         reaching kubelets is signed by it
#   server-ca.crt         k3s's server CA: the kubeconfig trusts it
#   node.env              NODE_NAME and NODE_IP, read by the unit (examples/systemk-live.service)
#   systemk.service       a copy of examples/systemk-live.service, and install-node.sh, when found
#
# Keys are mode 0600. The directory appears whole or not at all (it is written beside, then renamed).
# See docs/live.md.
set -euo pipefail

PROGRAM=node-credentials.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# fail, usage_error, run, is_dns_name, the CA checks and sign_certificate, shared with scrape-credentials.sh.
[[ -r $HERE/lib/credentials.sh ]] || {
  echo "$PROGRAM: cannot read $HERE/lib/credentials.sh, which this script needs: copy the whole k3s/ folder, lib/ included" >&2
  exit 1
}
# shellcheck source-path=SCRIPTDIR source=lib/credentials.sh
source "$HERE/lib/credentials.sh"

usage() {
  cat <<EOF
Usage: $PROGRAM [options] NODE_NAME NODE_IP [IP_OR_NAME...]

Mints a systemk node's client certificate, kubelet serving certificate and kubeconfig, signed by
k3s's CAs. Run it on the k3s server as root.

  NODE_NAME     the node's name in Kubernetes (systemk --nodename); lowercase letters, digits, '-', '.'
  NODE_IP       the node's address that the API server reaches (systemk --node-ip)
  IP_OR_NAME    more addresses or DNS names for the serving certificate

Options:
  --tls-dir DIR   k3s's TLS directory with server-ca.crt/.key and client-ca.crt/.key
                  (default: \$SYSTEMK_K3S_TLS_DIR, else /var/lib/rancher/k3s/server/tls)
  --server URL    the API server's URL as the node reaches it
                  (default: \$SYSTEMK_K3S_SERVER, else https://<this machine's first address>:6443)
  --output DIR    where to write (default: ./NODE_NAME); it must not exist unless --force
  --days N        how long the certificates are valid (default: 365)
  --force         replace an existing output directory
  -h, --help      show this help
EOF
}

is_ipv4() {
  local IFS=.
  local -a parts
  [[ $1 =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || return 1
  read -r -a parts <<<"$1"
  local part
  for part in "${parts[@]}"; do
    ((10#$part <= 255)) || return 1
  done
}

# IPv6 in its usual text forms (eight groups, or fewer around one '::'); no embedded IPv4 part.
is_ipv6() {
  local address="$1"
  [[ $address == *:* && $address =~ ^[0-9A-Fa-f:]+$ && $address != *:::* ]] || return 1
  local without="${address//::/}"
  local doubles=$(((${#address} - ${#without}) / 2))
  ((doubles <= 1)) || return 1
  if [[ $address == :* && $address != ::* ]] || [[ $address == *: && $address != *:: ]]; then return 1; fi
  local IFS=:
  local -a groups
  read -r -a groups <<<"$address"
  local group count=0
  for group in "${groups[@]}"; do
    [[ -z $group ]] && continue
    [[ $group =~ ^[0-9A-Fa-f]{1,4}$ ]] || return 1
    count=$((count + 1))
  done
  if ((doubles == 1)); then ((count <= 7)); else ((count == 8)); fi
}

is_ip() { is_ipv4 "$1" || is_ipv6 "$1"; }

# The first global address of this machine, for the default server URL.
first_address() {
  local address=""
  if address="$(hostname -I 2>/dev/null)"; then
    address="${address%% *}"
  fi
  if [[ -z $address ]] && command -v ip >/dev/null 2>&1; then
    address="$(ip -o addr show scope global 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')"
  fi
  printf '%s' "${address// /}"
}

tls_dir="${SYSTEMK_K3S_TLS_DIR:-/var/lib/rancher/k3s/server/tls}"
server="${SYSTEMK_K3S_SERVER:-}"
output=""
days=365
force=false
positional=()

while (($# > 0)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --tls-dir | --server | --output | --days)
      (($# >= 2)) || usage_error "$1 needs a value"
      case "$1" in
        --tls-dir) tls_dir="$2" ;;
        --server) server="$2" ;;
        --output) output="$2" ;;
        --days) days="$2" ;;
      esac
      shift 2
      ;;
    --tls-dir=* | --server=* | --output=* | --days=*)
      value="${1#*=}"
      case "$1" in
        --tls-dir=*) tls_dir="$value" ;;
        --server=*) server="$value" ;;
        --output=*) output="$value" ;;
        --days=*) days="$value" ;;
      esac
      shift
      ;;
    --force)
      force=true
      shift
      ;;
    --)
      shift
      positional+=("$@")
      break
      ;;
    -*) usage_error "unknown option $1" ;;
    *)
      positional+=("$1")
      shift
      ;;
  esac
done

# --- Input -------------------------------------------------------------------------------------------

((${#positional[@]} >= 1)) || usage_error "missing NODE_NAME: the node's name in Kubernetes (systemk --nodename)"
((${#positional[@]} >= 2)) || usage_error "missing NODE_IP: the address of node ${positional[0]} that the API server reaches (systemk --node-ip)"

node_name="${positional[0]}"
node_ip="${positional[1]}"
extra=("${positional[@]:2}")

is_dns_name "$node_name" ||
  fail "NODE_NAME '$node_name' is not a valid node name: Kubernetes wants lowercase letters, digits, '-' and '.' (RFC 1123), at most 253 characters"
is_ip "$node_ip" ||
  fail "NODE_IP '$node_ip' is not an IP address: the API server reaches the node's kubelet API at this address, so the serving certificate must name it"

ip_sans=("$node_ip")
dns_sans=("$node_name")
for entry in "${extra[@]}"; do
  if is_ip "$entry"; then
    ip_sans+=("$entry")
  elif is_dns_name "$entry"; then
    dns_sans+=("$entry")
  else
    fail "'$entry' is neither an IP address nor a DNS name (lowercase letters, digits, '-', '.'), so it cannot be put in the serving certificate"
  fi
done

[[ $days =~ ^[1-9][0-9]{0,4}$ ]] || fail "--days '$days' is not a number of days between 1 and 99999"

if [[ -z $server ]]; then
  address="$(first_address)"
  [[ -n $address ]] ||
    fail "cannot tell this machine's address for the server URL: give it with --server https://ADDRESS:6443 (or SYSTEMK_K3S_SERVER)"
  if is_ipv6 "$address"; then address="[$address]"; fi
  server="https://$address:6443"
fi
[[ $server =~ ^https://[^[:space:]\"\'\\]+$ ]] ||
  fail "--server '$server' is not an https:// URL: nodes must reach the API server over TLS, e.g. https://10.0.0.1:6443"

command -v openssl >/dev/null 2>&1 ||
  fail "openssl is not installed: it mints the certificates (Debian: apt-get install openssl)"

require_ca_files "$tls_dir" server-ca.crt/.key client-ca.crt/.key
require_ca_key_matches "$tls_dir" server-ca
require_ca_key_matches "$tls_dir" client-ca

[[ -n $output ]] || output="./$node_name"
output="${output%/}"
[[ -n $output ]] || fail "--output '/' cannot be replaced"
if [[ -e $output || -L $output ]] && [[ $force != true ]]; then
  fail "$output already exists: give another --output, or --force to replace it (the node's old certificates stay valid until they expire)"
fi
parent="$(dirname -- "$output")"
[[ -d $parent && -w $parent ]] || fail "cannot write into $parent: it is not a writable directory"

# --- Minting, in a temporary directory beside the output -----------------------------------------------

umask 077
work="$(mktemp -d "$parent/.${node_name}.XXXXXX")"
old=""
cleanup() {
  [[ -n ${work:-} && -d $work ]] && rm -rf -- "$work"
  [[ -n ${old:-} && -d $old ]] && rm -rf -- "$old"
  return 0
}
trap cleanup EXIT

sans=()
for name in "${dns_sans[@]}"; do sans+=("DNS:$name"); done
for ip in "${ip_sans[@]}"; do sans+=("IP:$ip"); done
san_list="$(IFS=,; printf '%s' "${sans[*]}")"

sign_certificate "$tls_dir" client-ca "$days" "$work/client-kubelet" client-kubelet \
  "/O=system:nodes/CN=system:node:$node_name" \
  "basicConstraints = critical, CA:FALSE" "keyUsage = critical, digitalSignature, keyEncipherment" \
  "extendedKeyUsage = clientAuth"

sign_certificate "$tls_dir" server-ca "$days" "$work/serving-kubelet" serving-kubelet "/CN=$node_name" \
  "basicConstraints = critical, CA:FALSE" "keyUsage = critical, digitalSignature, keyEncipherment" \
  "extendedKeyUsage = serverAuth" "subjectAltName = $san_list"

cp -- "$tls_dir/server-ca.crt" "$work/server-ca.crt"
cp -- "$tls_dir/client-ca.crt" "$work/client-ca.crt"

# Paths in a kubeconfig are relative to the kubeconfig's own folder: the directory works wherever it is put.
cat >"$work/kubeconfig" <<EOF
# kubeconfig of systemk node $node_name, written by $PROGRAM.
apiVersion: v1
kind: Config
clusters:
  - name: k3s
    cluster:
      server: "$server"
      certificate-authority: server-ca.crt
users:
  - name: "system:node:$node_name"
    user:
      client-certificate: client-kubelet.crt
      client-key: client-kubelet.key
contexts:
  - name: systemk
    context:
      cluster: k3s
      user: "system:node:$node_name"
current-context: systemk
EOF

cat >"$work/node.env" <<EOF
# The node these credentials were minted for, read by systemk.service (EnvironmentFile=).
# systemk --nodename must be the name in client-kubelet.crt, and --node-ip an address in serving-kubelet.crt.
NODE_NAME=$node_name
NODE_IP=$node_ip
EOF

unit="$HERE/../examples/systemk-live.service"
copied_unit=false
if [[ -f $unit ]]; then
  cp -- "$unit" "$work/systemk.service"
  copied_unit=true
fi
if [[ -f $HERE/install-node.sh ]]; then
  cp -- "$HERE/install-node.sh" "$work/install-node.sh"
fi

chmod 0600 "$work"/*.key "$work/kubeconfig"
chmod 0644 "$work"/*.crt "$work/node.env"
if [[ $copied_unit == true ]]; then chmod 0644 "$work/systemk.service"; fi
if [[ -f $work/install-node.sh ]]; then chmod 0755 "$work/install-node.sh"; fi
chmod 0700 "$work"

# --- Into place --------------------------------------------------------------------------------------

if [[ -e $output || -L $output ]]; then
  old="$(mktemp -d "$parent/.${node_name}.old.XXXXXX")"
  mv -- "$output" "$old/previous"
fi
if ! mv -- "$work" "$output"; then
  if [[ -n $old ]]; then mv -- "$old/previous" "$output"; fi
  fail "cannot move the new credentials into $output"
fi
work=""

cat <<EOF
Wrote $output/ for node $node_name:
  kubeconfig (server $server), client-kubelet.crt/.key (CN=system:node:$node_name, O=system:nodes),
  serving-kubelet.crt/.key (${san_list//,/, }), client-ca.crt, server-ca.crt, node.env
  valid for $days days: run this again before then, and copy the new files over.

Next, on the node $node_name (as root), with systemk installed as /usr/local/bin/systemk:
  scp -r $output root@$node_ip:/root/systemk-credentials
  ssh root@$node_ip /root/systemk-credentials/install-node.sh /root/systemk-credentials
or by hand: copy the files into /etc/systemk/ (keys 0600), the unit to /etc/systemd/system/systemk.service, and
  systemctl daemon-reload && systemctl enable --now systemk
The unit runs:
  systemk --kubeconfig /etc/systemk/kubeconfig --nodename $node_name --node-ip $node_ip \\
    --certfile /etc/systemk/serving-kubelet.crt --keyfile /etc/systemk/serving-kubelet.key \\
    --client-ca-file /etc/systemk/client-ca.crt --port 10250
Then: kubectl get node $node_name -o wide   (details in docs/live.md)
EOF
