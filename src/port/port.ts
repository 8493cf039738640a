/**
 * The Port abstraction: a NIC (or an in-memory stand-in) with one or more
 * queues. A worker owns one queue and moves frames in bursts of slot indices of
 * its BufferPool, as DPDK's rx/tx burst move mbufs.
 */
import type { BufferPool } from '../core/buffer_pool.js';
import type { WireStamps } from './wire_stamps.js';

export interface PortCaps {
  /** The port's own MAC address (6 bytes). */
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly maxQueues: number;
  /** TX checksums are filled in by the device; the stack may leave them zero. */
  readonly txChecksumOffload: boolean;
  /** RX frames may carry partial checksums that the device validated. */
  readonly rxChecksumValidated: boolean;
  /** RX VLAN tags are stripped by the device and re-inserted by the driver. */
  readonly rxVlanStrip: boolean;
}

export interface QueueStats {
  rxFrames: number;
  rxBytes: number;
  rxDropped: number;
  txFrames: number;
  txBytes: number;
  txDropped: number;
}

export interface PortQueue {
  readonly queueId: number;
  readonly pool: BufferPool;
  /**
   * Receives up to `max` frames into slots of the queue's pool and writes their
   * indices to `out[0..n)`. The caller owns the returned slots. Returns n >= 0.
   */
  rxBurst(out: Int32Array, max: number): number;
  /**
   * Transmits `slots[0..n)`. Returns how many (a prefix) were accepted; the port
   * takes ownership of those and frees them. The rest stay with the caller.
   */
  txBurst(slots: Int32Array, n: number): number;
  stats(): QueueStats;
  close(): void;
  /** The driver's wire times of received and sent frames (native queues); absent: the stack's clock is all there is. */
  readonly wire?: WireStamps;
}

export interface Port {
  readonly driver: string;
  readonly name: string;
  readonly queueCount: number;
  readonly caps: PortCaps;
  /** Opens queue `q` bound to `pool` (the pool of the worker that will poll it). */
  openQueue(q: number, pool: BufferPool): PortQueue;
  close(): void;
}

/** Capabilities of a software port (ring, null): no offloads, standard MTU. */
export function softwareCaps(mac: Uint8Array, queues: number): PortCaps {
  return { mac, mtu: 1500, maxQueues: queues, txChecksumOffload: false, rxChecksumValidated: false, rxVlanStrip: false };
}

export function emptyQueueStats(): QueueStats {
  return { rxFrames: 0, rxBytes: 0, rxDropped: 0, txFrames: 0, txBytes: 0, txDropped: 0 };
}
