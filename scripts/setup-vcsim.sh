#!/usr/bin/env bash
# Builds the vcsim the esx tests run (packages/emulators/vcsim/main.go) from Debian's Go and
# govmomi packages, and prints the binary's path on stdout. The build is cached by a hash of the
# source, the Go version and the govmomi package version under $XDG_CACHE_HOME/kola/vcsim, so a
# second call costs a few milliseconds. As root it installs the two packages with apt; otherwise
# it prints the apt line and exits 1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/packages/emulators/vcsim/main.go"

log() { printf 'setup-vcsim: %s\n' "$*" >&2; }

packages=(golang-go golang-github-vmware-govmomi-dev)
missing=()
for p in "${packages[@]}"; do
  [[ $(dpkg-query -W -f '${Status}' "$p" 2>/dev/null) == 'install ok installed' ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  install_line="DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if ((EUID != 0)); then
    log "missing: ${missing[*]}. As root run:"
    printf '  apt-get update && %s\n' "$install_line" >&2
    exit 1
  fi
  out=$(apt-cache policy "${missing[@]}" 2>/dev/null || true)
  if [[ $out != *"Candidate: "[0-9]* ]]; then
    log "apt-get update"
    apt-get update -q >&2
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

versions="$(go version) $(dpkg-query -W -f '${Version}' golang-github-vmware-govmomi-dev)"
hash=$( { cat "$src"; printf '%s\n' "$versions"; } | sha256sum | cut -c1-16)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kola/vcsim/$hash"
bin="$cache/vcsim"
if [[ ! -x $bin ]]; then
  log "building vcsim ($versions) into $cache (about 25 s cold)"
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  mkdir -p "$scratch/gopath/src/kola/vcsim" "$cache"
  cp "$src" "$scratch/gopath/src/kola/vcsim/main.go"
  # GOPATH mode: Debian's -dev packages are a GOPATH tree, and the network (proxy.golang.org) is
  # neither reachable nor wanted.
  GO111MODULE=off GOPATH="$scratch/gopath:/usr/share/gocode" GOCACHE="$scratch/gocache" GOFLAGS= \
    go build -o "$scratch/vcsim" kola/vcsim >&2
  mv "$scratch/vcsim" "$bin" # atomic: a concurrent caller sees no half-written binary
fi
printf '%s\n' "$bin"
