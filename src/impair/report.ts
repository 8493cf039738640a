/**
 * What `vaigai impair` prints: a live line per second (rates over the last
 * second), a summary at the end, and the JSON report.
 */
import type { DirectionSnapshot } from './bridge.js';
import { formatSpec, type ImpairSpec } from './spec.js';

export interface Directions {
  aToB: DirectionSnapshot;
  bToA: DirectionSnapshot;
}

function drops(d: DirectionSnapshot): number {
  return d.dropLoss + d.dropLimit + d.dropNoBuf + d.dropTx;
}

function rate(n: number, us: number): string {
  const v = us > 0 ? (n * 1e6) / us : 0;
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
}

function liveDir(now: DirectionSnapshot, prev: DirectionSnapshot, us: number): string {
  const fwd = now.forwarded - prev.forwarded;
  const bits = (now.forwardedBytes - prev.forwardedBytes) * 8;
  return (
    `${rate(fwd, us)}pps ${rate(bits, us)}bit/s drop ${drops(now) - drops(prev)}` +
    ` dup ${now.duplicated - prev.duplicated} reo ${now.reordered - prev.reordered} q ${now.queued}`
  );
}

/** One line: each direction's rates and events over the last interval. */
export function liveLine(elapsedUs: number, now: Directions, prev: Directions, intervalUs: number): string {
  const t = (elapsedUs / 1e6).toFixed(0).padStart(4);
  return `${t}s  a>b ${liveDir(now.aToB, prev.aToB, intervalUs)} | b>a ${liveDir(now.bToA, prev.bToA, intervalUs)}`;
}

function summaryDir(name: string, spec: ImpairSpec, d: DirectionSnapshot, us: number): string[] {
  return [
    `${name}  ${formatSpec(spec)}`,
    `  frames in ${d.offered}, forwarded ${d.forwarded} (${d.forwardedBytes} bytes, ${rate(d.forwardedBytes * 8, us)}bit/s)`,
    `  dropped ${drops(d)}: loss ${d.dropLoss}, limit ${d.dropLimit}, no buffer ${d.dropNoBuf}, tx ${d.dropTx}`,
    `  delayed ${d.delayed}, reordered ${d.reordered}, duplicated ${d.duplicated}, corrupted ${d.corrupted}, marked CE ${d.ceMarked}, queue high-water ${d.queueHigh}`,
  ];
}

export function summaryText(elapsedUs: number, specs: { aToB: ImpairSpec; bToA: ImpairSpec }, d: Directions): string {
  return [
    `impair: ran ${(elapsedUs / 1e6).toFixed(3)} s`,
    ...summaryDir('a>b', specs.aToB, d.aToB, elapsedUs),
    ...summaryDir('b>a', specs.bToA, d.bToA, elapsedUs),
  ].join('\n');
}

export interface JsonReport {
  ports: [string, string];
  seed: number;
  durationS: number;
  aToB: { spec: string } & DirectionSnapshot;
  bToA: { spec: string } & DirectionSnapshot;
}

export function jsonReport(
  ports: [string, string],
  seed: number,
  elapsedUs: number,
  specs: { aToB: ImpairSpec; bToA: ImpairSpec },
  d: Directions,
): JsonReport {
  return {
    ports,
    seed,
    durationS: elapsedUs / 1e6,
    aToB: { spec: formatSpec(specs.aToB), ...d.aToB },
    bToA: { spec: formatSpec(specs.bToA), ...d.bToA },
  };
}
