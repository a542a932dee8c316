#!/bin/bash
# scrape-credentials.sh: run on the k3s server (as root). Mints the client certificate that Prometheus
# (k3s/prometheus.yaml) presents to each systemk node's kubelet API to scrape /metrics and
# /metrics/resource, and makes the Secret that the manifest mounts:
#
#   Secret monitoring/prometheus-kubelet-client (type kubernetes.io/tls)
#     tls.crt   the client certificate, CN=systemk-prometheus and no group, signed by k3s's client CA:
#     tls.key   systemk --client-ca-file takes it (see node-credentials.sh)
#     ca.crt    k3s's server CA, which signed the nodes' kubelet serving certificates
#
# It prints the Secret as a manifest on stdout, or applies it with kubectl (--apply); no key is left on
# disk. The certificate authenticates to k3s's API server too, as user systemk-prometheus, which no
# RBAC rule names: there it may do only what any authenticated user may (API discovery). It also lets
# its holder read every node's container logs through the kubelet API. See docs/live.md.
set -euo pipefail

PROGRAM=scrape-credentials.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# fail, usage_error, run, is_dns_name, the CA checks and sign_certificate, shared with node-credentials.sh.
[[ -r $HERE/lib/credentials.sh ]] || {
  echo "$PROGRAM: cannot read $HERE/lib/credentials.sh, which this script needs: copy the whole k3s/ folder, lib/ included" >&2
  exit 1
}
# shellcheck source-path=SCRIPTDIR source=lib/credentials.sh
source "$HERE/lib/credentials.sh"

usage() {
  cat <<EOF
Usage: $PROGRAM [options]

Mints the client certificate Prometheus presents to the kubelet API of systemk nodes, signed by k3s's
client CA, and writes it with k3s's server CA as a Secret: a manifest on stdout, or applied with
--apply. Run it on the k3s server as root:

  sudo k3s/scrape-credentials.sh --apply
  sudo k3s/scrape-credentials.sh | kubectl apply -f -

Options:
  --tls-dir DIR     k3s's TLS directory with client-ca.crt/.key and server-ca.crt
                    (default: \$SYSTEMK_K3S_TLS_DIR, else /var/lib/rancher/k3s/server/tls)
  --name NAME       the certificate's common name, the user the kubelet API sees (default: systemk-prometheus)
  --namespace NS    the Secret's namespace (default: monitoring)
  --secret NAME     the Secret's name (default: prometheus-kubelet-client)
  --days N          how long the certificate is valid (default: 365)
  --apply           apply the Secret with kubectl (\$KUBECTL, else kubectl, else k3s kubectl)
                    instead of printing it
  -h, --help        show this help
EOF
}

# RFC 1123 label, as Kubernetes requires of namespaces.
is_dns_label() {
  [[ ${#1} -le 63 && $1 =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]
}

tls_dir="${SYSTEMK_K3S_TLS_DIR:-/var/lib/rancher/k3s/server/tls}"
common_name=systemk-prometheus
namespace=monitoring
secret=prometheus-kubelet-client
days=365
apply=false

while (($# > 0)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --tls-dir | --name | --namespace | --secret | --days)
      (($# >= 2)) || usage_error "$1 needs a value"
      case "$1" in
        --tls-dir) tls_dir="$2" ;;
        --name) common_name="$2" ;;
        --namespace) namespace="$2" ;;
        --secret) secret="$2" ;;
        --days) days="$2" ;;
      esac
      shift 2
      ;;
    --tls-dir=* | --name=* | --namespace=* | --secret=* | --days=*)
      value="${1#*=}"
      case "$1" in
        --tls-dir=*) tls_dir="$value" ;;
        --name=*) common_name="$value" ;;
        --namespace=*) namespace="$value" ;;
        --secret=*) secret="$value" ;;
        --days=*) days="$value" ;;
      esac
      shift
      ;;
    --apply)
      apply=true
      shift
      ;;
    -*) usage_error "unknown option $1" ;;
    *) usage_error "unexpected argument '$1': this script takes options only" ;;
  esac
done

# --- Input -------------------------------------------------------------------------------------------

[[ $common_name =~ ^[A-Za-z0-9][-A-Za-z0-9._:@]{0,63}$ ]] ||
  fail "--name '$common_name' is not a usable common name: letters, digits, '-', '.', '_', ':' and '@', at most 64 characters"
[[ $common_name != system:* ]] ||
  fail "--name '$common_name' starts with 'system:', which Kubernetes keeps for its own users (system:node:NAME is a node's identity)"
is_dns_label "$namespace" ||
  fail "--namespace '$namespace' is not a valid namespace: lowercase letters, digits and '-', at most 63 characters"
is_dns_name "$secret" ||
  fail "--secret '$secret' is not a valid Secret name: lowercase letters, digits, '-' and '.', at most 253 characters"
[[ $days =~ ^[1-9][0-9]{0,4}$ ]] || fail "--days '$days' is not a number of days between 1 and 99999"

command -v openssl >/dev/null 2>&1 ||
  fail "openssl is not installed: it mints the certificate (Debian: apt-get install openssl)"

kubectl=()
if [[ $apply == true ]]; then
  if [[ -n ${KUBECTL:-} ]]; then
    command -v "$KUBECTL" >/dev/null 2>&1 || fail "KUBECTL '$KUBECTL' is not a command"
    kubectl=("$KUBECTL")
  elif command -v kubectl >/dev/null 2>&1; then
    kubectl=(kubectl)
  elif command -v k3s >/dev/null 2>&1; then
    kubectl=(k3s kubectl)
  else
    fail "--apply needs kubectl, which is not on PATH: set KUBECTL, or leave out --apply and pipe the output to kubectl apply -f -"
  fi
fi

require_ca_files "$tls_dir" client-ca.crt/.key server-ca.crt
require_ca_key_matches "$tls_dir" client-ca
openssl x509 -in "$tls_dir/server-ca.crt" -noout 2>/dev/null ||
  fail "$tls_dir/server-ca.crt is not a PEM certificate"

# --- Minting, in a private temporary directory ----------------------------------------------------------

umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/scrape-credentials.XXXXXX")"
cleanup() {
  [[ -n ${work:-} && -d $work ]] && rm -rf -- "$work"
  return 0
}
trap cleanup EXIT

# No LABEL (""): with one certificate to make, its messages need not name it.
sign_certificate "$tls_dir" client-ca "$days" "$work/tls" "" "/CN=$common_name" \
  "basicConstraints = critical, CA:FALSE" "keyUsage = critical, digitalSignature, keyEncipherment" \
  "extendedKeyUsage = clientAuth"

# The Secret's values, base64 on one line each.
encoded=()
for file in "$work/tls.crt" "$work/tls.key" "$tls_dir/server-ca.crt"; do
  encoded+=("$(openssl base64 -A -in "$file")") || fail "cannot encode $file in base64"
done

cat >"$work/secret.yaml" <<EOF
# The client certificate (CN=$common_name, signed by k3s's client CA) with which Prometheus scrapes
# the kubelet API of systemk nodes, and k3s's server CA (ca.crt). Written by $PROGRAM.
apiVersion: v1
kind: Secret
metadata:
  name: $secret
  namespace: $namespace
type: kubernetes.io/tls
data:
  tls.crt: ${encoded[0]}
  tls.key: ${encoded[1]}
  ca.crt: ${encoded[2]}
EOF

# --- Out ---------------------------------------------------------------------------------------------

if [[ $apply != true ]]; then
  cat -- "$work/secret.yaml"
  echo "$PROGRAM: Secret $namespace/$secret (CN=$common_name, valid $days days) written to stdout: pipe it to kubectl apply -f -" >&2
  exit 0
fi

if ! log="$("${kubectl[@]}" apply -f - <"$work/secret.yaml" 2>&1)"; then
  echo "$PROGRAM: ${kubectl[*]} apply of Secret $namespace/$secret failed:" >&2
  printf '%s\n' "$log" | sed 's/^/  /' >&2
  exit 1
fi
printf '%s\n' "$log"
cat <<EOF
Secret $namespace/$secret: a client certificate CN=$common_name, signed by $tls_dir/client-ca.crt, valid for
$days days (run this again before then), and k3s's server CA. k3s/prometheus.yaml mounts it at
/var/lib/prometheus/kubelet-client for the jobs systemk-nodes and systemk-node-resources.
EOF
