#!/bin/bash
# install-node.sh: run on a systemk node (as root). Places the credentials that node-credentials.sh
# minted for this node in /etc/systemk/, installs the live unit as systemk.service and (re)starts it.
#
#   install-node.sh [options] [CREDENTIALS_DIR]     (default: the directory this script is in)
#
# Running it again with renewed credentials replaces the files and restarts systemk; the pods keep
# running (they are units of their own) and the restarted systemk adopts them. See docs/live.md.
set -euo pipefail

PROGRAM=install-node.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<EOF
Usage: $PROGRAM [options] [CREDENTIALS_DIR]

Installs a systemk node's credentials (from node-credentials.sh) into /etc/systemk/ and the unit
into /etc/systemd/system/systemk.service, then enables and (re)starts systemk.

  CREDENTIALS_DIR  the directory node-credentials.sh wrote (default: $HERE)

Options:
  --binary PATH   also install this systemk executable as /usr/local/bin/systemk
  --no-start      install the files, but do not reload systemd or start systemk
  --root DIR      install under DIR instead of / (an image being built); implies --no-start
  -h, --help      show this help
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

source_dir="$HERE"
binary=""
root=""
start=true

while (($# > 0)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --binary | --root)
      (($# >= 2)) || usage_error "$1 needs a value"
      if [[ $1 == --binary ]]; then binary="$2"; else root="${2%/}"; fi
      shift 2
      ;;
    --no-start)
      start=false
      shift
      ;;
    -*) usage_error "unknown option $1" ;;
    *)
      source_dir="${1%/}"
      shift
      (($# == 0)) || usage_error "one CREDENTIALS_DIR only (got also: $*)"
      ;;
  esac
done

if [[ -n $root ]]; then
  start=false
  [[ -d $root ]] || fail "--root $root is not a directory"
elif (($(id -u) != 0)); then
  fail "run this as root: it writes /etc/systemk and /etc/systemd/system and starts systemk"
fi

# --- What to install ---------------------------------------------------------------------------------

[[ -d $source_dir ]] || fail "$source_dir is not a directory: give the directory that node-credentials.sh wrote"
required=(kubeconfig client-kubelet.crt client-kubelet.key serving-kubelet.crt serving-kubelet.key client-ca.crt server-ca.crt node.env)
for file in "${required[@]}"; do
  [[ -r $source_dir/$file ]] ||
    fail "$source_dir/$file is missing: this does not look like a directory written by node-credentials.sh (it needs ${required[*]})"
done

unit="$source_dir/systemk.service"
[[ -f $unit ]] || unit="$HERE/../examples/systemk-live.service"
[[ -f $unit ]] || fail "no unit to install: neither $source_dir/systemk.service nor examples/systemk-live.service beside this script"

node_name="$(sed -n 's/^NODE_NAME=//p' "$source_dir/node.env" | tail -n 1)"
node_ip="$(sed -n 's/^NODE_IP=//p' "$source_dir/node.env" | tail -n 1)"
[[ -n $node_name && -n $node_ip ]] || fail "$source_dir/node.env must set NODE_NAME and NODE_IP"

if [[ -n $binary ]]; then
  [[ -f $binary && -x $binary ]] || fail "--binary $binary is not an executable file"
elif [[ ! -x $root/usr/local/bin/systemk ]]; then
  fail "systemk is not installed as $root/usr/local/bin/systemk (the unit runs it from there): build it with 'scripts/build-release.sh' and copy .build/release/systemk there, or give --binary PATH"
fi

if [[ -z $root ]]; then
  addresses=" $(hostname -I 2>/dev/null || true) "
  if [[ $addresses != *" $node_ip "* ]]; then
    echo "$PROGRAM: warning: $node_ip (NODE_IP in node.env) is not an address of this machine ($(echo "$addresses" | xargs)); the API server will not reach this node's kubelet API there" >&2
  fi
fi

# --- Installing, each file atomically ----------------------------------------------------------------

# place SOURCE TARGET MODE: writes TARGET.new beside TARGET, then renames it over TARGET.
place() {
  local source="$1" target="$2" mode="$3"
  install -m "$mode" -- "$source" "$target.new"
  mv -f -- "$target.new" "$target"
}

etc="$root/etc/systemk"
units="$root/etc/systemd/system"
mkdir -p -- "$etc" "$units"
chmod 0755 "$etc"

if [[ -n $binary ]]; then
  mkdir -p -- "$root/usr/local/bin"
  place "$binary" "$root/usr/local/bin/systemk" 0755
fi
for file in client-kubelet.key serving-kubelet.key kubeconfig; do
  place "$source_dir/$file" "$etc/$file" 0600
done
for file in client-kubelet.crt serving-kubelet.crt client-ca.crt server-ca.crt node.env; do
  place "$source_dir/$file" "$etc/$file" 0644
done

target_unit="$units/systemk.service"
if [[ -f $target_unit ]] && ! cmp -s "$unit" "$target_unit"; then
  backup="$target_unit.bak-$(date +%Y%m%d%H%M%S)"
  cp -p -- "$target_unit" "$backup"
  echo "$PROGRAM: the existing $target_unit is kept as $backup" >&2
fi
place "$unit" "$target_unit" 0644

echo "Installed the credentials of node $node_name in $etc/ and the unit as $target_unit."

if [[ $start != true ]]; then
  echo "Not started. Start it with: systemctl daemon-reload && systemctl enable --now systemk"
  exit 0
fi

systemctl daemon-reload
systemctl enable systemk.service
# restart, not start: an already running systemk must read the new certificates.
systemctl restart systemk.service ||
  fail "systemk did not start; see why with: journalctl -u systemk -n 50 (and docs/live.md, Troubleshooting)"
echo "systemk is running: systemctl status systemk; journalctl -u systemk -f"
echo "On the server: kubectl get node $node_name -o wide"
