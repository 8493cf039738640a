#!/usr/bin/env bash
# Host setup for vaigAI's native drivers and tests. Run as root.
#
#   setup.sh hugepages [COUNT] [MOUNT]   reserve COUNT 2 MiB hugepages (default 512) and
#                                        mount hugetlbfs at MOUNT (default /dev/hugepages)
#   setup.sh bind PCI [DRIVER]           bind a NIC (e.g. 0000:81:00.0) to DRIVER (default
#                                        vfio-pci) for DPDK
#   setup.sh unbind PCI                  give the NIC back to its kernel driver
#   setup.sh topo up [PREFIX] [CIDR]     test topology: namespaces PREFIXport and PREFIXpeer
#                                        joined by veth PREFIXa <-> PREFIXb; the peer gets
#                                        CIDR (default 198.18.250.2/24) and TX offloads off
#                                        (no partial checksums, no GSO super-frames)
#   setup.sh topo down [PREFIX]          remove it (default PREFIX: vgtest-)
#   setup.sh status                      hugepages, vfio bindings, test namespaces
#
# A vaigAI port reaches the topology with its netns option, e.g.
#   --port af_packet:iface=vgtest-a,netns=vgtest-port
set -euo pipefail

die() { echo "setup.sh: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root"; }

hugepages() {
  local count=${1:-512} mnt=${2:-/dev/hugepages}
  [[ $count =~ ^[0-9]+$ ]] || die "hugepage count '$count' is not a number"
  [ -w /proc/sys/vm/nr_hugepages ] || die "this kernel has no hugetlb support (/proc/sys/vm/nr_hugepages missing); use DPDK with --no-huge"
  echo "$count" > /proc/sys/vm/nr_hugepages
  local got
  got=$(cat /proc/sys/vm/nr_hugepages)
  [ "$got" -ge "$count" ] || echo "setup.sh: only $got of $count hugepages could be reserved (memory fragmented?)" >&2
  mkdir -p "$mnt"
  if ! grep -qs " $mnt hugetlbfs " /proc/mounts; then mount -t hugetlbfs nodev "$mnt"; fi
  echo "hugepages: $got x 2 MiB, hugetlbfs on $mnt"
}

pci_dev() {
  local pci=$1
  [[ $pci =~ ^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]] || die "'$pci' is not a PCI address like 0000:81:00.0"
  [ -d "/sys/bus/pci/devices/$pci" ] || die "no PCI device $pci"
  echo "/sys/bus/pci/devices/$pci"
}

bind() {
  local pci=$1 drv=${2:-vfio-pci} dev
  dev=$(pci_dev "$pci")
  modprobe "$drv" 2>/dev/null || [ -d "/sys/bus/pci/drivers/$drv" ] || die "kernel driver $drv is not available"
  if [ -e "$dev/net" ]; then
    for ifc in "$dev"/net/*; do
      ip -o link show "$(basename "$ifc")" | grep -q ',UP' && die "$(basename "$ifc") on $pci is up: take it down first"
    done
  fi
  echo "$drv" > "$dev/driver_override"
  [ -e "$dev/driver" ] && echo "$pci" > "$dev/driver/unbind"
  echo "$pci" > /sys/bus/pci/drivers_probe
  echo "$pci bound to $(basename "$(readlink "$dev/driver")")"
}

unbind() {
  local pci=$1 dev
  dev=$(pci_dev "$pci")
  echo > "$dev/driver_override"
  [ -e "$dev/driver" ] && echo "$pci" > "$dev/driver/unbind"
  echo "$pci" > /sys/bus/pci/drivers_probe
  echo "$pci bound to $( [ -e "$dev/driver" ] && basename "$(readlink "$dev/driver")" || echo nothing)"
}

topo_up() {
  local p=${1:-vgtest-} cidr=${2:-198.18.250.2/24}
  topo_down "$p" >/dev/null 2>&1 || true
  ip netns add "${p}port"
  ip netns add "${p}peer"
  ip link add "${p}a" type veth peer name "${p}b"
  ip link set "${p}a" netns "${p}port"
  ip link set "${p}b" netns "${p}peer"
  for ns in port peer; do
    ip -n "${p}$ns" link set lo up
    ip netns exec "${p}$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
  done
  ip -n "${p}port" link set "${p}a" up
  ip -n "${p}peer" link set "${p}b" up
  ip -n "${p}peer" addr add "$cidr" dev "${p}b"
  ip netns exec "${p}peer" ethtool -K "${p}b" tx off >/dev/null
  echo "topology ${p}: ${p}port/${p}a <-> ${p}peer/${p}b ($cidr)"
}

topo_down() {
  local p=${1:-vgtest-}
  ip netns del "${p}port" 2>/dev/null || true
  ip netns del "${p}peer" 2>/dev/null || true
  ip link del "${p}a" 2>/dev/null || true
  echo "topology ${p} removed"
}

status() {
  grep -E '^HugePages_(Total|Free)' /proc/meminfo || echo "hugepages: not supported by this kernel"
  grep hugetlbfs /proc/mounts || echo "hugetlbfs: not mounted"
  for d in /sys/bus/pci/drivers/vfio-pci/0000:*; do [ -e "$d" ] && echo "vfio-pci: $(basename "$d")"; done
  ip netns list | grep -E '^vg' || echo "no vg* namespaces"
}

cmd=${1:-}
shift || true
case "$cmd" in
  hugepages) need_root; hugepages "$@" ;;
  bind) need_root; [ $# -ge 1 ] || die "usage: setup.sh bind PCI [DRIVER]"; bind "$@" ;;
  unbind) need_root; [ $# -ge 1 ] || die "usage: setup.sh unbind PCI"; unbind "$@" ;;
  topo)
    need_root
    case "${1:-}" in
      up) shift; topo_up "$@" ;;
      down) shift; topo_down "$@" ;;
      *) die "usage: setup.sh topo up|down [PREFIX]" ;;
    esac ;;
  status) status ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
