#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine with Node 20: pnpm and the
# workspace's packages. Idempotent; prints each step on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

want_pnpm=12.4.2
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$want_pnpm" ]; then
  log "installing pnpm $want_pnpm with npm"
  npm install -g "pnpm@$want_pnpm" >&2
fi

log "installing workspace packages (pnpm install --frozen-lockfile)"
pnpm install --frozen-lockfile >&2

# The AWS tests run the real SDK against moto_server (the AWS emulator), and bench/aws-upload
# compares with boto3's upload_file: both come from PyPI (Debian 12 packages neither).
if ! command -v moto_server >/dev/null 2>&1; then
  log "installing moto_server 5.2.1 (the AWS emulator the tests use) with pip"
  if ! python3 -m pip install --quiet 'moto[server]==5.2.1' >&2; then
    log "could not install moto: run 'python3 -m pip install \"moto[server]==5.2.1\"' where PyPI is reachable"
    exit 1
  fi
fi

# The Azure tests serve the emulated Resource Manager over HTTPS with a certificate made by openssl.
if ! command -v openssl >/dev/null 2>&1; then
  log "installing openssl with apt-get (the Azure emulator's test certificate)"
  apt-get install -y openssl >&2
fi
