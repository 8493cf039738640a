/**
 * Impairment specs: what one direction of the hop does to frames, parsed from
 * `key=value,key=value` text (the CLI's `--both`, `--a-to-b`, `--b-to-a`, and
 * the `impairQueue` wrapper of stack tests). The keys follow `tc netem`:
 *
 *   loss=1%                      random loss
 *   loss=ge:P:R[:LB[:LG]]        Gilbert-Elliott: P good->bad, R bad->good,
 *                                LB loss in bad (default 100%), LG loss in good (default 0%)
 *   ecn=on                       a lost IPv4 frame marked ECN-capable (ECT) is marked CE and sent on
 *                                instead (netem's ecn; RFC 3168 §5)
 *   delay=20ms jitter=5ms        delay (us, ms, s) and its spread
 *   dist=uniform|normal          jitter distribution (uniform in +-jitter, or jitter = sigma)
 *   reorder=5%                   share of frames sent at once, ahead of the delayed ones (needs delay)
 *   duplicate=1%  corrupt=0.1%   copies, and one bit flipped past the Ethernet header
 *   rate=100mbit  burst=16kb     token bucket (bit/kbit/mbit/gbit per second, or bps/kbps/mbps/gbps bytes)
 *   limit=1000                   frames the direction may hold (rate queue + delay line); tail drop beyond
 */

export const LOSS_NONE = 0;
export const LOSS_RANDOM = 1;
export const LOSS_GE = 2;

export const DIST_UNIFORM = 0;
export const DIST_NORMAL = 1;

/** netem's default queue length. */
export const DEFAULT_LIMIT = 1000;
/** The largest frame a burst must admit (Ethernet MTU 1500 + header). */
const MAX_FRAME = 1514;

export interface ImpairSpec {
  lossModel: number;
  /** LOSS_RANDOM: loss probability. */
  loss: number;
  /** Mark ECN-capable frames CE where the loss model drops (netem's ecn). */
  ecn: boolean;
  /** LOSS_GE: transition probabilities and per-state loss probabilities. */
  geP: number;
  geR: number;
  geLossBad: number;
  geLossGood: number;
  delayUs: number;
  jitterUs: number;
  dist: number;
  reorder: number;
  duplicate: number;
  corrupt: number;
  /** Bits per second; 0 = no rate limit. */
  rateBps: number;
  /** Token bucket depth in bytes; 0 = the default for the rate. */
  burstBytes: number;
  limit: number;
}

/** A bad spec; `key` names the offending key (or the whole item when it has none). */
export class ImpairSpecError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`impairment '${key}': ${message}`);
    this.name = 'ImpairSpecError';
  }
}

export function emptySpec(): ImpairSpec {
  return {
    lossModel: LOSS_NONE,
    loss: 0,
    ecn: false,
    geP: 0,
    geR: 0,
    geLossBad: 1,
    geLossGood: 0,
    delayUs: 0,
    jitterUs: 0,
    dist: DIST_UNIFORM,
    reorder: 0,
    duplicate: 0,
    corrupt: 0,
    rateBps: 0,
    burstBytes: 0,
    limit: DEFAULT_LIMIT,
  };
}

/** True when the spec changes nothing: frames go straight through. */
export function isPassThrough(s: ImpairSpec): boolean {
  return (
    s.lossModel === LOSS_NONE &&
    s.delayUs === 0 &&
    s.jitterUs === 0 &&
    s.duplicate === 0 &&
    s.corrupt === 0 &&
    s.rateBps === 0
  );
}

/** Token bucket depth: the given burst, else 1 ms at the rate, and never less than two full frames. */
export function effectiveBurst(s: ImpairSpec): number {
  if (s.burstBytes > 0) return s.burstBytes;
  return Math.max(2 * MAX_FRAME, Math.ceil(s.rateBps / 8 / 1000));
}

const NUM = /^[0-9]+(?:\.[0-9]+)?$/;

function parseNumber(key: string, text: string, what: string): number {
  if (text.startsWith('-')) throw new ImpairSpecError(key, `must not be negative, got '${text}'`);
  if (!NUM.test(text)) throw new ImpairSpecError(key, `expected ${what}, got '${text}'`);
  return Number(text);
}

/** `1%` or `0.5%` -> 0.01, 0.005. */
export function parsePercent(key: string, text: string): number {
  if (!text.endsWith('%')) throw new ImpairSpecError(key, `expected a percentage such as 1%, got '${text}'`);
  const v = parseNumber(key, text.slice(0, -1), 'a percentage such as 1%');
  if (v > 100) throw new ImpairSpecError(key, `must be between 0% and 100%, got '${text}'`);
  return v / 100;
}

const TIME_UNITS: Record<string, number> = { us: 1, ms: 1000, s: 1_000_000 };

/** `20ms`, `500us`, `1.5s` -> microseconds. */
export function parseTime(key: string, text: string): number {
  const m = /^(-?[0-9.]+)(us|ms|s)$/.exec(text);
  if (m === null) throw new ImpairSpecError(key, `expected a time such as 20ms, 500us or 1s, got '${text}'`);
  return Math.round(parseNumber(key, m[1], 'a time such as 20ms') * TIME_UNITS[m[2]]);
}

const RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** `100mbit` -> 1e8 bits per second; `bps` units are bytes, as in tc. */
export function parseRate(key: string, text: string): number {
  const m = /^(-?[0-9.]+)([a-z]+)$/.exec(text.toLowerCase());
  if (m === null || RATE_UNITS[m[2]] === undefined) {
    throw new ImpairSpecError(key, `expected a rate such as 100mbit, 1gbit or 10mbps, got '${text}'`);
  }
  const v = parseNumber(key, m[1], 'a rate') * RATE_UNITS[m[2]];
  if (v <= 0) throw new ImpairSpecError(key, `must be above zero, got '${text}'`);
  return v;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1 << 20, mb: 1 << 20 };

/** `1514`, `16kb`, `1mb` -> bytes (k = 1024, as in tc). */
export function parseSize(key: string, text: string): number {
  const m = /^(-?[0-9.]+)([a-z]*)$/.exec(text.toLowerCase());
  if (m === null || SIZE_UNITS[m[2]] === undefined) {
    throw new ImpairSpecError(key, `expected a size such as 1514 or 16kb, got '${text}'`);
  }
  return Math.ceil(parseNumber(key, m[1], 'a size') * SIZE_UNITS[m[2]]);
}

function parseLoss(spec: ImpairSpec, text: string): void {
  if (!text.startsWith('ge:')) {
    spec.lossModel = LOSS_RANDOM;
    spec.loss = parsePercent('loss', text);
    return;
  }
  const parts = text.slice(3).split(':');
  if (parts.length < 2 || parts.length > 4) {
    throw new ImpairSpecError('loss', `expected ge:P:R[:LOSS_BAD[:LOSS_GOOD]] such as ge:1%:30%, got '${text}'`);
  }
  spec.lossModel = LOSS_GE;
  spec.geP = parsePercent('loss', parts[0]);
  spec.geR = parsePercent('loss', parts[1]);
  spec.geLossBad = parts.length > 2 ? parsePercent('loss', parts[2]) : 1;
  spec.geLossGood = parts.length > 3 ? parsePercent('loss', parts[3]) : 0;
}

/**
 * Parses `key=value,...` on top of `base` (so `--a-to-b` can refine `--both`).
 * Throws ImpairSpecError naming the key on any bad item.
 */
export function parseImpairSpec(text: string, base: ImpairSpec = emptySpec()): ImpairSpec {
  const spec = { ...base };
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ImpairSpecError(item, 'expected key=value');
    const key = item.slice(0, eq).trim().toLowerCase();
    const value = item.slice(eq + 1).trim();
    switch (key) {
      case 'loss':
        parseLoss(spec, value);
        break;
      case 'ecn':
        if (value !== 'on' && value !== 'off') throw new ImpairSpecError(key, `expected on or off, got '${value}'`);
        spec.ecn = value === 'on';
        break;
      case 'delay':
        spec.delayUs = parseTime(key, value);
        break;
      case 'jitter':
        spec.jitterUs = parseTime(key, value);
        break;
      case 'dist':
      case 'distribution':
        if (value === 'uniform') spec.dist = DIST_UNIFORM;
        else if (value === 'normal') spec.dist = DIST_NORMAL;
        else throw new ImpairSpecError(key, `expected uniform or normal, got '${value}'`);
        break;
      case 'reorder':
        spec.reorder = parsePercent(key, value);
        break;
      case 'duplicate':
        spec.duplicate = parsePercent(key, value);
        break;
      case 'corrupt':
        spec.corrupt = parsePercent(key, value);
        break;
      case 'rate':
        spec.rateBps = parseRate(key, value);
        break;
      case 'burst':
        spec.burstBytes = parseSize(key, value);
        if (spec.burstBytes < MAX_FRAME) {
          throw new ImpairSpecError(key, `must hold a full frame (${MAX_FRAME} bytes), got '${value}'`);
        }
        break;
      case 'limit': {
        const n = parseNumber(key, value, 'a frame count');
        if (!Number.isInteger(n) || n < 1 || n > 1 << 19) {
          throw new ImpairSpecError(key, `expected a frame count in 1..${1 << 19}, got '${value}'`);
        }
        spec.limit = n;
        break;
      }
      default:
        throw new ImpairSpecError(
          key,
          'unknown key (known: loss, ecn, delay, jitter, dist, reorder, duplicate, corrupt, rate, burst, limit)',
        );
    }
  }
  if (spec.ecn && spec.lossModel === LOSS_NONE) throw new ImpairSpecError('ecn', 'marks where the loss model drops: give loss too');
  // netem sends reordered frames ahead of delayed ones; without a delay there is nothing to overtake.
  if (spec.reorder > 0 && spec.delayUs === 0) throw new ImpairSpecError('reorder', 'needs a delay to reorder against');
  return spec;
}

function formatTime(us: number): string {
  if (us % 1000 !== 0) return `${us}us`;
  return us % 1_000_000 === 0 ? `${us / 1_000_000}s` : `${us / 1000}ms`;
}

function formatRate(bps: number): string {
  for (const [unit, v] of [['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) if (bps % v === 0) return `${bps / v}${unit}`;
  return `${bps}bit`;
}

/** The spec back as text that parses to the same spec (for the live line, the summary and the JSON report). */
export function formatSpec(s: ImpairSpec): string {
  const out: string[] = [];
  const pct = (p: number): string => `${+(p * 100).toPrecision(6)}%`;
  if (s.lossModel === LOSS_RANDOM) out.push(`loss=${pct(s.loss)}`);
  if (s.lossModel === LOSS_GE) out.push(`loss=ge:${pct(s.geP)}:${pct(s.geR)}:${pct(s.geLossBad)}:${pct(s.geLossGood)}`);
  if (s.ecn) out.push('ecn=on');
  if (s.delayUs > 0) out.push(`delay=${formatTime(s.delayUs)}`);
  if (s.jitterUs > 0) out.push(`jitter=${formatTime(s.jitterUs)}`, `dist=${s.dist === DIST_NORMAL ? 'normal' : 'uniform'}`);
  if (s.reorder > 0) out.push(`reorder=${pct(s.reorder)}`);
  if (s.duplicate > 0) out.push(`duplicate=${pct(s.duplicate)}`);
  if (s.corrupt > 0) out.push(`corrupt=${pct(s.corrupt)}`);
  if (s.rateBps > 0) out.push(`rate=${formatRate(s.rateBps)}`, `burst=${effectiveBurst(s)}`);
  if (s.limit !== DEFAULT_LIMIT) out.push(`limit=${s.limit}`);
  return out.length === 0 ? 'none' : out.join(',');
}
