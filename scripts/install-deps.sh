#!/usr/bin/env bash
# Installs the system packages that the real-peer tests, the native drivers and the
# benchmarks use. Idempotent; safe to run as root on a fresh Debian 12 machine.
set -euo pipefail

PKGS=(
  build-essential pkg-config
  iproute2 iputils-ping arping ethtool nftables tcpdump
  tshark python3-scapy
  nginx apache2-utils curl openssl socat netcat-openbsd
  libbpf-dev libxdp-dev xdp-tools
  libdpdk-dev dpdk-dev
  wrk nghttp2-client
  chromium prometheus tmux
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: not root; skipping system packages (real-peer tests will skip)" >&2
  exit 0
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all system packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# nginx is started by the tests themselves on their own namespaces and ports.
systemctl disable --now nginx >/dev/null 2>&1 || true
# Prometheus is started by the scrape test itself, on its own port and data directory.
systemctl disable --now prometheus >/dev/null 2>&1 || true
