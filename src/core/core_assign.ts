/**
 * The architecture's six-tier core assignment: how many of the CPUs poll NIC
 * queues (workers), run the management side (CLI, REST, config, ARP manager,
 * telemetry) and run I/O-bound work (logging, exports). Management and I/O
 * take the lowest CPU ids, as DPDK's main lcore does; workers get the rest.
 *
 * | CPUs    | workers | management | I/O    |
 * |---------|---------|------------|--------|
 * | 2-4     | N-1     | 1          | shared |
 * | 5-16    | N-2     | 1          | 1      |
 * | 17-32   | N-3     | 2          | 1      |
 * | 33-64   | N-4     | 3          | 1      |
 * | 65-128  | N-5     | 3          | 2      |
 * | >128    | N-6     | 4          | 2      |
 *
 * One CPU is below the table; it runs a single worker with management and I/O
 * sharing its core (tier 0) rather than refusing to start.
 */

export interface CoreAssignment {
  /** 0 for a single CPU, else the table row 1..6. */
  readonly tier: number;
  readonly workers: readonly number[];
  readonly management: readonly number[];
  /** The I/O cores; when `ioShared`, I/O runs on the first management core. */
  readonly io: readonly number[];
  readonly ioShared: boolean;
}

interface Tier {
  maxCpus: number;
  management: number;
  io: number;
}

const TIERS: readonly Tier[] = [
  { maxCpus: 4, management: 1, io: 0 },
  { maxCpus: 16, management: 1, io: 1 },
  { maxCpus: 32, management: 2, io: 1 },
  { maxCpus: 64, management: 3, io: 1 },
  { maxCpus: 128, management: 3, io: 2 },
  { maxCpus: Infinity, management: 4, io: 2 },
];

/**
 * Assigns roles to `cpus` (CPU ids, e.g. the process affinity mask; or a count
 * meaning ids 0..n-1). `maxWorkers` caps the workers (e.g. to the number of
 * NIC queues); CPUs beyond it stay unused.
 */
export function assignCores(cpus: readonly number[] | number, maxWorkers = Infinity): CoreAssignment {
  const ids = typeof cpus === 'number' ? Array.from({ length: cpus }, (_, i) => i) : [...cpus].sort((a, b) => a - b);
  for (let i = 0; i < ids.length; i++) {
    if (!Number.isInteger(ids[i]) || ids[i] < 0) throw new RangeError(`bad CPU id ${ids[i]}`);
    if (i > 0 && ids[i] === ids[i - 1]) throw new RangeError(`CPU ${ids[i]} listed twice`);
  }
  if (ids.length === 0) throw new RangeError('no CPUs to assign');
  if (!(maxWorkers >= 1)) throw new RangeError(`maxWorkers must be >= 1, got ${maxWorkers}`);
  if (ids.length === 1) {
    return { tier: 0, workers: ids, management: ids, io: ids, ioShared: true };
  }
  const t = TIERS.findIndex((x) => ids.length <= x.maxCpus);
  const { management: m, io } = TIERS[t];
  const mgmt = ids.slice(0, m);
  const workers = ids.slice(m + io, Math.min(ids.length, m + io + maxWorkers));
  return {
    tier: t + 1,
    workers,
    management: mgmt,
    io: io === 0 ? mgmt.slice(0, 1) : ids.slice(m, m + io),
    ioShared: io === 0,
  };
}
