/**
 * Latency by phase: the parts of a request's life that a run times, each an
 * HDR histogram for the whole load and one per flow, in the slots of the
 * workers' shared histograms (histogram.ts). A worker records with a
 * PhaseRecorder (two cell increments per value: the total's and its flow's;
 * no allocation); management merges a phase's slot over the workers, for the
 * whole run and, by difference between two merges, per interval.
 *
 * Slots: phase p of the total is slot p; with several flows, phase p of flow f
 * is slot PHASES.length * (1 + f) + p (one flow's histograms are the total's).
 */
import { HdrRecorder, Histogram, type HistogramShared } from './histogram.js';

/** Phase names, in slot order (the result's `phases` keys). */
export const PHASES = ['connect', 'tls', 'ttfb', 'response', 'schedule', 'wire_rtt', 'server'] as const;
export type PhaseName = (typeof PHASES)[number];

/** SYN sent -> SYN-ACK received (the TCP layer's active open). */
export const PH_CONNECT = 0;
/** TLS handshake: TCP established -> handshake done. */
export const PH_TLS = 1;
/** Request's first byte written (open model: its intended start) -> first response byte. */
export const PH_TTFB = 2;
/** Request's first byte written (open model: its intended start) -> last response byte. */
export const PH_RESPONSE = 3;
/** Open model: a request's intended start -> its first byte written. */
export const PH_SCHEDULE = 4;
/** The network's round trip on the wire: a SYN or a data segment out -> the ACK covering it in (net/tcp/wire_rtt.ts). */
export const PH_WIRE_RTT = 5;
/** The server's time: the request's last byte out -> the response's first byte in, on the wire. */
export const PH_SERVER = 6;

/** Where a client records one flow's phase times (µs). */
export interface PhaseSink {
  record(phase: number, us: number): void;
}

/** Histogram slots a load of `flows` flows needs. */
export function phaseSlots(flows: number): number {
  return PHASES.length * (flows > 1 ? 1 + flows : 1);
}

/** The slot of `phase` for `flow` (-1: the total). */
export function phaseSlot(phase: number, flow: number, flows: number): number {
  return flow < 0 || flows <= 1 ? phase : PHASES.length * (1 + flow) + phase;
}

/** A worker's writer of phase times into its slots. */
export class PhaseRecorder {
  private readonly total: HdrRecorder[];
  /** Per flow, per phase; empty with one flow. */
  private readonly perFlow: HdrRecorder[][];

  constructor(shared: HistogramShared, workerIdx: number, flows: number) {
    if (shared.slots < phaseSlots(flows)) throw new RangeError(`${flows} flows need ${phaseSlots(flows)} histogram slots, got ${shared.slots}`);
    this.total = PHASES.map((_, p) => new HdrRecorder(shared, workerIdx, p));
    this.perFlow = flows > 1 ? Array.from({ length: flows }, (_, f) => PHASES.map((_p, p) => new HdrRecorder(shared, workerIdx, phaseSlot(p, f, flows)))) : [];
  }

  /** The recorder of the total's `phase` (for loads that time one phase). */
  totalOf(phase: number): HdrRecorder {
    return this.total[phase];
  }

  record(phase: number, flow: number, us: number): void {
    this.total[phase].record(us);
    if (this.perFlow.length > 0) this.perFlow[flow][phase].record(us);
  }

  /** A flow's sink (made once per flow, not per value). */
  sink(flow: number): PhaseSink {
    if (this.perFlow.length === 0) {
      const total = this.total;
      return { record: (phase, us) => total[phase].record(us) };
    }
    return { record: (phase, us) => this.record(phase, flow, us) };
  }
}

/** Every phase merged over the workers: the total's, or flow `flow`'s. */
export function mergedPhases(shared: HistogramShared, flows: number, flow = -1): Histogram[] {
  return PHASES.map((_, p) => Histogram.merged(shared, phaseSlot(p, flow, flows)));
}
