#!/usr/bin/env bash
# Installs what Troupe needs to build and test, from Debian 12 packages only, and nothing that is
# already there. Run as root (make demo / make test call it). Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  libcaf-dev capnproto libcapnp-dev libsqlite3-dev libboost-test-dev
  prometheus-cpp-dev libcivetweb-dev libssl-dev
  curl python3 procps
  prometheus chromium chromium-driver  # issue 7 (observability): tests/cluster/observability runs a real Prometheus and headless Chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root (or install them) and retry" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# promtool checks our /metrics output. Debian ships it in the 'prometheus' server package; tests need
# only the binary, so unpack it into the build tree instead of installing the server (DESIGN.md 8).
tools_dir="${1:-build}/tools"
if [ ! -x "$tools_dir/promtool" ] && ! command -v promtool >/dev/null 2>&1; then
  echo "install-deps: unpacking promtool into $tools_dir"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download prometheus >/dev/null 2>&1) || {
    [ "$(id -u)" -eq 0 ] && apt-get update -q >/dev/null && (cd "$work" && apt-get download prometheus >/dev/null)
  }
  dpkg-deb -x "$work"/prometheus_*.deb "$work/x"
  mkdir -p "$tools_dir"
  cp "$work/x/usr/bin/promtool" "$tools_dir/promtool"
fi
exit 0
