/**
 * soft_nic: what the stack may assume about a port, by driver and reported
 * capabilities (the architecture's soft_nic.c). The per-frame fix-ups live in
 * the native drivers, where the metadata is: af_packet re-inserts VLAN tags
 * the kernel stripped and completes partial checksums (TP_STATUS_CSUMNOTREADY)
 * before a frame reaches JS. This module turns the result into the settings
 * the stack reads (checksums in software or not, the largest frame, how many
 * queues to open) and the quirks worth logging at start-up.
 */
import { SLOT_DATA_MAX } from '../core/buffer_pool.js';
import type { Port } from './port.js';

/** Ethernet header plus one 802.1Q tag (IEEE 802.1Q-2018 9.3); the FCS is not in the slot. */
const L2_OVERHEAD = 14 + 4;

export interface SoftNic {
  readonly driver: string;
  /** Queues the workers may open: what was asked, bounded by the port. */
  readonly queues: number;
  readonly mtu: number;
  /** Largest frame a worker may send or expect: MTU + L2 header + a tag, bounded by the slot. */
  readonly maxFrame: number;
  /** The stack fills IPv4/TCP/UDP checksums itself (no TX offload). */
  readonly swTxChecksum: boolean;
  /** RX L4 checksums must be verified by the stack (the device did not). */
  readonly swRxChecksum: boolean;
  /** Notes on the driver that change how it must be used; logged at start-up. */
  readonly quirks: readonly string[];
}

/** Known behaviour per driver (measured or documented; see docs and DESIGN.md). */
const QUIRKS: Record<string, readonly string[]> = {
  af_packet: [
    'a kernel peer on veth sends GSO super-frames unless its TX offloads are off (ethtool -K <peer> tx off); they do not fit a slot and are dropped (rx_dropped)',
    'partial checksums from a kernel peer are completed by the driver; VLAN tags the kernel stripped are re-inserted',
    "the stack's own IPs must not be configured on the interface, or the kernel answers with RSTs",
  ],
  af_xdp: ['reopening a queue right after closing it can fail with EBUSY for about a second'],
  tap: ['the kernel side of the device is the peer; the port uses its own MAC (02:76:67:..)'],
  dpdk: [
    'rte_eal_init pins the calling thread; the driver restores the affinity mask',
    'promiscuous mode is on while the port is open (promisc=0 keeps it off) and off again after close',
    'with --no-huge use --no-shconf and an explicit mbuf count',
  ],
  ring: [],
  null: ['TX frames are discarded; nothing is ever received'],
};

/** Describes a port for the stack; `wantQueues` is what the configuration asked for (default: all). */
export function softNic(port: Port, wantQueues = port.queueCount): SoftNic {
  if (!Number.isInteger(wantQueues) || wantQueues < 1) {
    throw new RangeError(`queue count must be a positive integer, got ${wantQueues}`);
  }
  const c = port.caps;
  const limit = Math.min(port.queueCount, c.maxQueues);
  const quirks = [...(QUIRKS[port.driver] ?? [])];
  if (wantQueues > limit) quirks.push(`${wantQueues} queues asked, the port has ${limit}: using ${limit}`);
  return {
    driver: port.driver,
    queues: Math.min(wantQueues, limit),
    mtu: c.mtu,
    maxFrame: Math.min(c.mtu + L2_OVERHEAD, SLOT_DATA_MAX),
    swTxChecksum: !c.txChecksumOffload,
    swRxChecksum: !c.rxChecksumValidated,
    quirks,
  };
}
