/**
 * The suite's results: for each row (a load against a server) each client's
 * samples, one per round, printed as medians with min–max, CPU per request,
 * the server's CPU share and vaigAI's ratio to each peer (rate, and CPU per
 * request: what a core gives).
 */
import { median } from '../proc.js';

export interface Sample {
  rate: number;
  /** Client CPU per request (or handshake, connection), µs. */
  cpuUs: number;
  /** The server's CPU share over the client's load (NaN: not measured). */
  serverCpu: number;
}

export interface Cell {
  client: string;
  samples: Sample[];
  /** Why this client has no figure (tool missing), when it has none. */
  missing?: string;
  errors: string[];
}

export interface Row {
  stage: number;
  load: string;
  unit: string;
  /** cells[0] is vaigAI's. */
  cells: Cell[];
}

/** Stage 4: what holding connections costs. */
export interface HoldSample {
  connections: number;
  /** From the client's start line to all connections established, s. */
  setupS: number;
  /** RSS growth per connection between the small and the large run, bytes. */
  serverBytes: number;
  clientBytes: number;
}

export interface HoldRow {
  server: string;
  samples: HoldSample[];
  errors: string[];
}

const k = (x: number): string => (Number.isNaN(x) ? 'n/a' : x >= 1e4 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));
const pct = (x: number): string => (Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(0)}%`);
const ratio = (a: number, b: number): string => (Number.isNaN(a / b) || !Number.isFinite(a / b) ? 'n/a' : `${(a / b).toFixed(2)}x`);

export function med(c: Cell, f: (s: Sample) => number): number {
  return median(c.samples.map(f));
}

function range(c: Cell): string {
  const rs = c.samples.map((s) => s.rate).filter((x) => !Number.isNaN(x));
  if (rs.length === 0) return 'n/a';
  return `${k(Math.min(...rs))}–${k(Math.max(...rs))}`;
}

const COLS = ['stage', 'load', 'client', 'median', 'min–max', 'CPU/req', 'server CPU', 'vaigAI ×rate', 'vaigAI ×CPU'];

/** The table as markdown (the form docs/PERFORMANCE.md takes). */
export function formatRows(rows: Row[]): string {
  const out: string[] = [`| ${COLS.join(' | ')} |`, `|${COLS.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const v = r.cells[0];
    r.cells.forEach((c, i) => {
      const lead = i === 0 ? [String(r.stage), r.load] : ['', ''];
      if (c.samples.length === 0) {
        out.push(`| ${[...lead, c.client, c.missing ?? `no figure${c.errors.length > 0 ? `: ${c.errors[0].replace(/\s+/g, ' ').slice(0, 80)}` : ''}`, '', '', '', '', ''].join(' | ')} |`);
        return;
      }
      const rate = med(c, (s) => s.rate);
      const cpu = med(c, (s) => s.cpuUs);
      const ratios = i === 0 ? ['—', '—'] : [ratio(med(v, (s) => s.rate), rate), ratio(cpu, med(v, (s) => s.cpuUs))];
      out.push(`| ${[...lead, c.client, `${k(rate)} ${r.unit}`, range(c), Number.isNaN(cpu) ? 'n/a' : `${cpu.toFixed(1)} µs`, pct(med(c, (s) => s.serverCpu)), ...ratios].join(' | ')} |`);
    });
  }
  return out.join('\n');
}

export function formatHold(rows: HoldRow[]): string {
  const out = ['| stage 4: idle keep-alive connections held | connections | setup | server RSS / connection | vaigAI client RSS / connection |', '|---|---|---|---|---|'];
  for (const r of rows) {
    const m = (f: (s: HoldSample) => number): number => median(r.samples.map(f));
    if (r.samples.length === 0) {
      out.push(`| vaigAI client → ${r.server} | no figure${r.errors.length > 0 ? `: ${r.errors[0].replace(/\s+/g, ' ').slice(0, 80)}` : ''} | | | |`);
      continue;
    }
    out.push(`| vaigAI client → ${r.server} | ${k(m((s) => s.connections))} | ${m((s) => s.setupS).toFixed(1)} s | ${m((s) => s.serverBytes).toFixed(0)} B | ${m((s) => s.clientBytes).toFixed(0)} B |`);
  }
  return out.join('\n');
}
