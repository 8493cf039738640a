/**
 * The port spec users type, one syntax for every driver:
 *
 *   af_packet:iface=eth1,queues=2      af_xdp:iface=eth1      tap:name=vg0
 *   ring      null      dpdk:queues=2,eal=-l 0 --no-huge --vdev=net_ring0
 *
 * `driver[:key=value,...]`. For dpdk the `eal` option comes last and its value
 * runs to the end of the spec (EAL arguments contain commas and `=`); EAL
 * arguments can also follow `--` on the command line and are appended.
 *
 * `openPort` checks what it can before touching the driver, so that errors name
 * the problem: unknown driver or option, driver not built, no permission (not
 * root / no CAP_NET_RAW or CAP_NET_ADMIN), missing interface, no hugepages.
 */
import { existsSync, readFileSync } from 'node:fs';
import { NullPort } from './null.js';
import { loadNative, nativeDrivers, nativeLoadError, openNativePort } from './native.js';
import type { Port } from './port.js';
import { createRingPair } from './ring.js';

export const DRIVERS = ['af_packet', 'af_xdp', 'tap', 'dpdk', 'ring', 'null'] as const;
export type DriverName = (typeof DRIVERS)[number];

export type PortErrorCode =
  | 'syntax'
  | 'unknown-driver'
  | 'unknown-option'
  | 'missing-interface'
  | 'permission'
  | 'not-built'
  | 'hugepages'
  | 'open-failed';

export class PortSpecError extends Error {
  constructor(
    readonly code: PortErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PortSpecError';
  }
}

export interface PortSpec {
  driver: DriverName;
  options: Record<string, string>;
  /** EAL arguments for dpdk (from `eal=` and after `--`), one argument per element. */
  ealArgs: string[];
}

/**
 * Options each driver accepts (the native drivers read the same names; a test
 * holds the lists to their sources). Anything else is refused by name before
 * a driver is asked. dpdk's `eal` takes the rest of the spec.
 */
export const PORT_OPTIONS: Record<DriverName, readonly string[]> = {
  af_packet: ['iface', 'queues', 'netns', 'rx', 'ring_frames', 'rcvbuf', 'sndbuf', 'qdisc_bypass', 'promisc', 'mac', 'fanout_group', 'tx_stamps'],
  af_xdp: ['iface', 'queue', 'queues', 'mode', 'xdp', 'frames', 'netns'],
  tap: ['name', 'queues', 'netns', 'up', 'mac'],
  dpdk: ['dev', 'port', 'pair', 'side', 'queues', 'rxd', 'txd', 'mbufs', 'promisc', 'netns', 'eal'],
  ring: ['queues', 'capacity', 'name'],
  null: ['queues', 'name'],
};

/** What each native driver needs when the addon was built without it. */
const BUILD_HINT: Record<string, string> = {
  af_xdp: 'libxdp-dev and libbpf-dev',
  dpdk: 'libdpdk-dev',
};

/** Linux capability bits (include/uapi/linux/capability.h). */
const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;

function isDriver(s: string): s is DriverName {
  return (DRIVERS as readonly string[]).includes(s);
}

function splitArgs(s: string): string[] {
  return s.split(/\s+/).filter((a) => a !== '');
}

/** Parses a port spec; `extraEal` are EAL arguments given after `--` on the command line. */
export function parsePortSpec(text: string, extraEal: string[] = []): PortSpec {
  const t = text.trim();
  const colon = t.indexOf(':');
  const name = colon < 0 ? t : t.slice(0, colon);
  if (!isDriver(name)) {
    throw new PortSpecError(
      'unknown-driver',
      name === '' ? 'empty port spec: expected e.g. af_packet:iface=eth1' : `unknown port driver '${name}' (known: ${DRIVERS.join(', ')})`,
    );
  }
  const options: Record<string, string> = {};
  const ealArgs: string[] = [];
  let rest = colon < 0 ? '' : t.slice(colon + 1);
  while (rest !== '') {
    if (name === 'dpdk' && (rest === 'eal' || rest.startsWith('eal='))) {
      ealArgs.push(...splitArgs(rest.slice(4)));
      break;
    }
    const comma = rest.indexOf(',');
    const item = comma < 0 ? rest : rest.slice(0, comma);
    rest = comma < 0 ? '' : rest.slice(comma + 1);
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    if (key === '') throw new PortSpecError('syntax', `port spec '${text}': empty option name`);
    if (key in options) throw new PortSpecError('syntax', `port spec '${text}': option '${key}' given twice`);
    const allowed = PORT_OPTIONS[name];
    if (!allowed.includes(key)) {
      throw new PortSpecError('unknown-option', `${name} has no option '${key}' (options: ${allowed.join(', ')})`);
    }
    options[key] = eq < 0 ? '' : item.slice(eq + 1).trim();
  }
  if (name !== 'dpdk' && extraEal.length > 0) {
    throw new PortSpecError('syntax', `arguments after -- are EAL arguments, but the port driver is ${name}`);
  }
  ealArgs.push(...extraEal);
  return { driver: name, options, ealArgs };
}

/** Effective capability set of this process (/proc/self/status CapEff). */
export function effectiveCaps(): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

function hasCap(caps: bigint, bit: number): boolean {
  return ((caps >> BigInt(bit)) & 1n) === 1n;
}

/** Hugepages configured and a hugetlbfs mount, as DPDK needs them without --no-huge. */
export function hugepageStatus(): { total: number; mounted: boolean } {
  const mem = readFileSync('/proc/meminfo', 'utf8');
  const total = Number(/^HugePages_Total:\s*(\d+)/m.exec(mem)?.[1] ?? 0);
  const mounted = / hugetlbfs /.test(readFileSync('/proc/mounts', 'utf8'));
  return { total, mounted };
}

function positiveInt(spec: PortSpec, key: string, def: number): number {
  const v = spec.options[key];
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new PortSpecError('syntax', `${spec.driver} option ${key}=${v} is not a positive integer`);
  }
  return n;
}

/** The checks that name a problem before the native driver is asked. */
function precheck(spec: PortSpec, caps: bigint): void {
  const d = spec.driver;
  if (loadNative() === null) throw new PortSpecError('not-built', `${d}: ${nativeLoadError()}`);
  if (!nativeDrivers().includes(d)) {
    throw new PortSpecError(
      'not-built',
      `the ${d} driver is not built into the native addon (${BUILD_HINT[d] ?? 'its libraries'} missing at build time): ` +
        'run scripts/install-deps.sh, then npm rebuild',
    );
  }
  // What DPDK needs depends on its PMDs and EAL arguments: it reports that itself.
  const need = d === 'tap' ? CAP_NET_ADMIN : d === 'dpdk' ? -1 : CAP_NET_RAW;
  if (need >= 0 && !hasCap(caps, need)) {
    const missing = need === CAP_NET_ADMIN ? 'CAP_NET_ADMIN' : 'CAP_NET_RAW';
    throw new PortSpecError('permission', `${d} needs root or ${missing} (run as root, or setcap on node)`);
  }
  if (d === 'af_packet' || d === 'af_xdp') {
    const iface = spec.options.iface;
    if (iface === undefined || iface === '') {
      throw new PortSpecError('missing-interface', `${d} needs an interface: ${d}:iface=<name>`);
    }
    // In another namespace the driver itself reports a missing interface.
    if (spec.options.netns === undefined && !existsSync(`/sys/class/net/${iface}`)) {
      throw new PortSpecError('missing-interface', `${d}: interface '${iface}' not found (see ip link)`);
    }
  }
  if (d === 'tap' && (spec.options.name ?? '') === '') {
    throw new PortSpecError('syntax', 'tap needs a device name: tap:name=<name>');
  }
  if (d === 'dpdk' && !spec.ealArgs.includes('--no-huge')) {
    const h = hugepageStatus();
    if (h.total === 0 || !h.mounted) {
      throw new PortSpecError(
        'hugepages',
        `dpdk: no hugepages (${h.total === 0 ? 'HugePages_Total is 0' : 'no hugetlbfs mount'}): ` +
          'run scripts/setup.sh hugepages 512, or pass --no-huge in the EAL arguments',
      );
    }
  }
}

/** Classifies a native driver's error message (they name the problem in words). */
function classify(message: string): PortErrorCode {
  if (/not found|no such device/i.test(message)) return 'missing-interface';
  if (/needs root|CAP_|permission|not permitted/i.test(message)) return 'permission';
  if (/hugepage/i.test(message)) return 'hugepages';
  return 'open-failed';
}

/**
 * Opens the port a spec names. `ring` opens a back-to-back pair and returns
 * its first side (use createRingPair for both ends).
 */
export function openPort(spec: string | PortSpec, extraEal: string[] = []): Port {
  const s = typeof spec === 'string' ? parsePortSpec(spec, extraEal) : spec;
  switch (s.driver) {
    case 'null':
      return new NullPort(s.options.name ?? 'null0', positiveInt(s, 'queues', 1));
    case 'ring':
      return createRingPair({
        queues: positiveInt(s, 'queues', 1),
        capacity: positiveInt(s, 'capacity', 1024),
        name: s.options.name ?? 'ring',
      })[0];
    default: {
      precheck(s, effectiveCaps());
      const name = s.options.iface ?? s.options.name ?? s.driver;
      try {
        return openNativePort(s.driver, s.options, name, s.ealArgs.join(' '));
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new PortSpecError(classify(msg), msg);
      }
    }
  }
}
