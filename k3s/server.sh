#!/bin/bash
# server.sh: run on the machine that is to be the control plane (as root). Installs k3s with the
# official installer when it is missing, as a server only (no k3s agent: systemk nodes are the only
# nodes), starts it, waits until its API answers and prints the next steps.
#
# Idempotent: with k3s installed with these flags it only makes sure k3s is enabled and running. With
# k3s installed with other flags it stops and says which are missing; --reconfigure then re-runs the
# installer with these flags (without downloading k3s again), which restarts k3s. See docs/live.md.
set -euo pipefail

PROGRAM=server.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The k3s server flags for systemk nodes, and why:
#   --disable-agent               no kubelet, containerd or flannel on this machine: the control plane only;
#                                 pods run on systemk nodes
#   --disable=...                 traefik and servicelb (need container nodes and a pod network), local-storage
#                                 (its provisioner runs containers), metrics-server (asks kubelets for
#                                 metrics systemk does not serve), coredns (runs in a container; k3s/coredns.yaml
#                                 runs CoreDNS on a systemk node instead)
#   --disable-cloud-controller    k3s's cloud controller manages nodes that a k3s agent registered (their
#                                 addresses, instance-type label); systemk sets its node's own
#   --disable-kube-proxy, --disable-network-policy, --flannel-backend=none
#                                 no pod network: pods use their node's network
#   --egress-selector-mode=disabled
#                                 the API server dials kubelets directly (kubectl logs reaches systemk's
#                                 kubelet API on port 10250) instead of through k3s agent tunnels, which
#                                 systemk nodes do not open
K3S_SERVER_FLAGS=(
  --disable-agent
  "--disable=traefik,servicelb,local-storage,metrics-server,coredns"
  --disable-cloud-controller
  --disable-kube-proxy
  --disable-network-policy
  --flannel-backend=none
  --egress-selector-mode=disabled
)

usage() {
  cat <<EOF
Usage: $PROGRAM [options] [-- EXTRA_K3S_SERVER_FLAGS...]

Installs (when missing) and starts a k3s server for systemk nodes: the control plane only, no k3s
agent. Uses the official installer (https://get.k3s.io) with INSTALL_K3S_EXEC set to:
  server ${K3S_SERVER_FLAGS[*]}

Options:
  --reconfigure   k3s is installed with other flags: re-run the installer with these (restarts k3s)
  --print-flags   print the k3s server flags and exit (for an existing k3s, or a config.yaml)
  --timeout SEC   how long to wait for the API server (default: 180)
  -h, --help      show this help

Extra flags after -- are added to the k3s server's, for example: -- --tls-san k3s.example.com
The installer's own variables (INSTALL_K3S_VERSION, INSTALL_K3S_CHANNEL, ...) are passed through.
EOF
}

fail() {
  echo "$PROGRAM: $*" >&2
  exit 1
}

usage_error() {
  echo "$PROGRAM: $*" >&2
  echo "Run '$PROGRAM --help' for usage." >&2
  exit 1
}

reconfigure=false
print_flags=false
timeout=180
extra=()
while (($# > 0)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --reconfigure)
      reconfigure=true
      shift
      ;;
    --print-flags)
      print_flags=true
      shift
      ;;
    --timeout)
      (($# >= 2)) || usage_error "--timeout needs a value"
      [[ $2 =~ ^[0-9]+$ ]] || usage_error "--timeout takes seconds, got '$2'"
      timeout="$2"
      shift 2
      ;;
    --)
      shift
      extra=("$@")
      break
      ;;
    *) usage_error "unknown option $1 (extra k3s flags go after --)" ;;
  esac
done

for flag in "${extra[@]}"; do
  [[ $flag =~ ^[^[:space:]]+$ ]] || fail "extra k3s flag '$flag' contains white space: the installer splits INSTALL_K3S_EXEC on it; write --flag=value"
done
flags=("${K3S_SERVER_FLAGS[@]}" "${extra[@]}")

if [[ $print_flags == true ]]; then
  printf '%s\n' "${flags[@]}"
  exit 0
fi

(($(id -u) == 0)) || fail "run this as root: it installs k3s as a systemd service"
command -v systemctl >/dev/null 2>&1 || fail "systemctl is missing: k3s runs as a systemd service, so this machine must run systemd"

# run_installer [ENV=VALUE...]: downloads the official installer and runs it with our flags.
run_installer() {
  command -v curl >/dev/null 2>&1 || fail "curl is missing: it downloads the k3s installer (Debian: apt-get install curl)"
  local url="${SYSTEMK_K3S_INSTALLER_URL:-https://get.k3s.io}"
  local installer
  installer="$(mktemp)"
  # shellcheck disable=SC2064 # expand now: the path is local to this function
  trap "rm -f -- '$installer'" EXIT
  curl -sfL "$url" -o "$installer" || fail "cannot download the k3s installer from $url: is the network up?"
  echo "Running the k3s installer: ${*:+$* }INSTALL_K3S_EXEC='server ${flags[*]}'"
  env "$@" INSTALL_K3S_EXEC="server ${flags[*]}" sh "$installer" ||
    fail "the k3s installer failed (see its output above)"
}

installed=false
if command -v k3s >/dev/null 2>&1 && systemctl cat k3s.service >/dev/null 2>&1; then
  installed=true
fi

if [[ $installed != true ]]; then
  run_installer
else
  current="$(systemctl show -p ExecStart --value k3s.service)"
  missing=()
  for flag in "${flags[@]}"; do
    [[ " $current " == *" $flag "* ]] || missing+=("$flag")
  done
  if ((${#missing[@]} == 0)); then
    echo "k3s is installed with the flags for systemk nodes."
    systemctl enable --now k3s.service
  elif [[ $reconfigure == true ]]; then
    echo "k3s is installed; reconfiguring it (missing: ${missing[*]})."
    run_installer INSTALL_K3S_SKIP_DOWNLOAD=true
  else
    fail "k3s is installed, but without ${missing[*]}; re-run with --reconfigure to re-install its service with the flags for systemk nodes (k3s restarts; a k3s agent on this machine is turned off, and pods it ran stop)"
  fi
fi

echo "Waiting up to ${timeout}s for the API server..."
deadline=$((SECONDS + timeout))
until k3s kubectl get --raw=/readyz >/dev/null 2>&1; do
  ((SECONDS < deadline)) || fail "the API server did not become ready within ${timeout}s; see: journalctl -u k3s -n 100"
  sleep 2
done

address="$(hostname -I 2>/dev/null || true)"
address="${address%% *}"
address="${address// /}"
[[ -n $address ]] || address="SERVER_ADDRESS"

cat <<EOF
k3s is ready: the control plane for systemk nodes, with no node of its own yet.
  kubectl:     k3s kubectl ...  (or kubectl with KUBECONFIG=/etc/rancher/k3s/k3s.yaml; root only)
  API server:  https://$address:6443  (nodes must reach TCP 6443 here; this server must reach TCP 10250 on nodes)

Next, for each node (its name and the address this server reaches it at):
  $HERE/node-credentials.sh NODE_NAME NODE_IP
then copy the directory it writes to the node and run install-node.sh there (docs/live.md).
EOF
