# shellcheck shell=bash
# k3s/lib/credentials.sh: what node-credentials.sh and scrape-credentials.sh share, sourced by both and
# never run on its own: their error messages, the checks of k3s's CAs, and minting a certificate signed
# by one of them. The sourcing script sets PROGRAM (its name, which starts every message) and runs with
# `set -euo pipefail`. It travels with the scripts: copy the whole k3s/ folder, lib/ included.

# fail WHAT [WHY]: one line on stderr naming the problem, then exit 1.
fail() {
  echo "$PROGRAM: $*" >&2
  exit 1
}

# usage_error WHAT: fail, pointing at --help.
usage_error() {
  echo "$PROGRAM: $*" >&2
  echo "Run '$PROGRAM --help' for usage." >&2
  exit 1
}

# RFC 1123 subdomain, as Kubernetes requires of node names and Secret names.
is_dns_name() {
  [[ ${#1} -le 253 && $1 =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ ]]
}

# run DESCRIPTION COMMAND...: runs an openssl step, and on failure says which step and shows openssl's words.
run() {
  local what="$1"
  shift
  local log
  if ! log="$("$@" 2>&1)"; then
    echo "$PROGRAM: $what failed:" >&2
    printf '%s\n' "$log" | sed 's/^/  /' >&2
    exit 1
  fi
}

# require_ca_files TLS_DIR FILES...: TLS_DIR is a directory and each of FILES in it is readable, or fail.
# FILES are written as the message shows them: NAME.crt/.key for a CA's certificate and key, NAME.crt for
# its certificate alone (require_ca_files "$tls_dir" client-ca.crt/.key server-ca.crt).
require_ca_files() {
  local tls_dir="$1"
  shift
  [[ -d $tls_dir ]] ||
    fail "k3s's TLS directory $tls_dir does not exist: run this on the k3s server (k3s/server.sh), or point --tls-dir (SYSTEMK_K3S_TLS_DIR) at k3s's server/tls directory"
  local held="" entry file
  local -a files=()
  for entry in "$@"; do
    held+="${held:+ and }$entry"
    case $entry in
      *.crt/.key) files+=("${entry%/.key}" "${entry%.crt/.key}.key") ;;
      *) files+=("$entry") ;;
    esac
  done
  for file in "${files[@]}"; do
    [[ -r $tls_dir/$file ]] ||
      fail "cannot read $tls_dir/$file: k3s keeps its CAs there and only root may read their keys; run this as root on the k3s server, or point --tls-dir at a directory with $held"
  done
}

# require_ca_key_matches TLS_DIR CA: CA.key is the key of CA.crt, both PEM, or fail: what a CA signs with
# another key would not verify against its certificate.
require_ca_key_matches() {
  local tls_dir="$1" ca="$2" certificate_key private_key
  certificate_key="$(openssl x509 -in "$tls_dir/$ca.crt" -noout -pubkey 2>/dev/null)" ||
    fail "$tls_dir/$ca.crt is not a PEM certificate"
  private_key="$(openssl pkey -in "$tls_dir/$ca.key" -pubout 2>/dev/null)" ||
    fail "$tls_dir/$ca.key is not a PEM private key"
  [[ $certificate_key == "$private_key" ]] ||
    fail "$tls_dir/$ca.key is not the key of $tls_dir/$ca.crt: the key and the certificate of that CA do not belong together"
}

count_certificates() {
  grep -c -- '-----BEGIN CERTIFICATE-----' "$1" || true
}

# sign_certificate TLS_DIR CA DAYS OUT LABEL SUBJECT EXTENSION...: a P-256 key OUT.key and a certificate
# OUT.crt for SUBJECT (openssl's /A=b/CN=c form), with the EXTENSION lines (x509v3_config(5)), valid for
# DAYS days, signed by TLS_DIR/CA.crt/.key and checked against CA.crt. A CA file holding a chain (k3s with
# an intermediate CA) goes after the certificate, so the chain is sent along. LABEL names the certificate
# in messages ("" for none). OUT's folder must be private: the key is written there.
sign_certificate() {
  local tls_dir="$1" ca="$2" days="$3" out="$4" label="$5" subject="$6"
  shift 6
  printf '%s\n' "[ext]" "$@" >"$out.ext"
  run "making the key${label:+ for $label}" openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out.key"
  run "making the request${label:+ for $label}" openssl req -new -key "$out.key" -subj "$subject" -out "$out.csr"
  run "signing${label:+ $label} with $tls_dir/$ca.crt" openssl x509 -req -in "$out.csr" \
    -CA "$tls_dir/$ca.crt" -CAkey "$tls_dir/$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$days" -sha256 -extfile "$out.ext" -extensions ext -out "$out.crt"
  openssl verify -CAfile "$tls_dir/$ca.crt" "$out.crt" >/dev/null 2>&1 ||
    fail "the certificate signed with $tls_dir/$ca.key does not verify against $tls_dir/$ca.crt: the key and the certificate of that CA do not belong together"
  if (($(count_certificates "$tls_dir/$ca.crt") > 1)); then
    cat "$tls_dir/$ca.crt" >>"$out.crt"
  fi
  rm -f -- "$out.csr" "$out.ext"
}
