#!/usr/bin/env bash
# Runs the official SDK packages (openai, and whatever else package.json pins) against llmux: every *.test.mjs here.
# usage: run.sh LLMUX_BINARY LLMUX_FAKE_PROVIDER_BINARY
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 LLMUX_BINARY LLMUX_FAKE_PROVIDER_BINARY" >&2
  exit 2
fi
abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
LLMUX_BINARY="$(abs "$1")"
LLMUX_FAKE_BINARY="$(abs "$2")"
export LLMUX_BINARY LLMUX_FAKE_BINARY
for bin in "$LLMUX_BINARY" "$LLMUX_FAKE_BINARY"; do
  [ -x "$bin" ] || { echo "run.sh: not an executable: $bin" >&2; exit 2; }
done

cd "$(dirname "${BASH_SOURCE[0]}")"

# Install the pinned package when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  log="$(mktemp)"
  if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "run.sh: npm ci failed" >&2
    exit 1
  fi
  rm -f "$log"
  touch node_modules
fi

# A CA and a server certificate for the HTTPS case, made now; node trusts the CA through
# NODE_EXTRA_CA_CERTS, read once at its start.
tls_dir="$(mktemp -d)"
trap 'rm -rf "$tls_dir"' EXIT
make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=llmux-compat-ca \
    -keyout "$tls_dir/ca.key" -out "$tls_dir/ca.crt" &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
      -keyout "$tls_dir/server.key" -out "$tls_dir/server.csr" &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls_dir/san.ext" &&
    openssl x509 -req -days 2 -in "$tls_dir/server.csr" -CA "$tls_dir/ca.crt" -CAkey "$tls_dir/ca.key" \
      -CAcreateserial -extfile "$tls_dir/san.ext" -out "$tls_dir/server.crt"
}
make_cert >/dev/null 2>&1 || { echo "run.sh: openssl could not make the test certificates" >&2; exit 1; }
LLMUX_COMPAT_TLS_DIR="$tls_dir" NODE_EXTRA_CA_CERTS="$tls_dir/ca.crt" node --test ./*.test.mjs
