/**
 * Packet I/O from JS against the same driver queue driven by a native loop, in
 * the same run: TX and RX frames/s of 64-byte frames per driver (af_packet,
 * tap, af_xdp, dpdk), and JS/native; DPDK also beside dpdk-testpmd txonly.
 * Target: JS >= 0.9 of native.
 *
 *   node dist/bench/port.js [--ms 1000] [--burst 64] [--rounds 2] [--drivers af_packet,tap,af_xdp,dpdk]
 *
 * Each driver of a run is measured in a process of its own. The loops and the
 * AF_XDP/DPDK section are in bench/port_xdp_dpdk.ts. Here: af_packet TX to a
 * kernel peer across a veth pair, tap TX into the kernel side of the device;
 * RX filled by an af_packet sender on the peer side, from another CPU
 * (bench/port_filler.ts; the TPACKET ring, the socket buffer, the tap's queue
 * hold the frames). The native
 * loop (native/bench_native.cc) does the same per-frame slot bookkeeping as the
 * JS path (take a slot, give it back), so the ratio is the cost of driving the
 * queue from JS. The loop runs on one pinned CPU; the kernel peer's receive
 * work is steered to the others (RPS), as if it were another host. Needs root;
 * namespaces vgnatb-* are created and removed.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BufferPool } from '../src/core/buffer_pool.js';
import { nativeDrivers, nativeLoadError, openNativePort } from '../src/port/native.js';
import { probeFrame } from '../test/helpers/frames.js';
import { NetnsLab, netTestSkipReason } from '../test/helpers/netns.js';
import { Filler } from './port_filler.js';
import { benchRx, benchTx, benchXdpDpdk, cpuPlan, fillCpu, FRAME, pinBenchCore, RX_DRAINS, steerPeer, TX_SLICES, type BenchOptions } from './port_xdp_dpdk.js';

interface Case {
  /** Label printed in the results. */
  what: string;
  driver: string;
  options: Record<string, string>;
  /** Namespace and interface of the kernel's side: the TX destination and the RX sender. */
  peerNs: string;
  peerIface: string;
  /** Frames offered per fill (benchRx drains what arrives). */
  fill: number;
  tx: boolean;
  /** Run once the port is open (the tap device exists only from then on). */
  prepare: (() => void) | null;
}

/** One driver: TX against the kernel peer, then RX filled by an af_packet sender on the peer side. */
async function runCase(c: Case, lab: NetnsLab, pool: BufferPool, o: BenchOptions): Promise<void> {
  const port = openNativePort(c.driver, c.options, c.what);
  c.prepare?.();
  steerPeer(lab, c.peerNs, c.peerIface);
  const q = port.openQueue(0, pool, o.burst);
  const filler = await Filler.start(c.peerNs, c.peerIface, fillCpu, o.burst);
  try {
    if (c.tx) benchTx(c.what, q, probeFrame(lab.mac(c.peerNs, c.peerIface), port.caps.mac, 0, FRAME), o);
    const frame = probeFrame(port.caps.mac, Uint8Array.of(2, 0, 0, 0, 0, 1), 0, FRAME);
    benchRx(c.what, q, c.fill, (k) => filler.fill(k, frame), o);
  } finally {
    await filler.close();
    q.close();
    port.close();
  }
}

/** af_packet (both RX paths) and tap. */
async function benchKernelSockets(o: BenchOptions, asked: string[]): Promise<void> {
  if (!asked.includes('af_packet') && !asked.includes('tap')) return;
  const drivers = nativeDrivers();
  const lab = new NetnsLab('vgnatb-');
  try {
    const portNs = lab.addNs('port');
    const peerNs = lab.addNs('peer');
    const tapNs = lab.addNs('tap');
    lab.addVeth({ name: 'vgnatb-a', ns: portNs }, { name: 'vgnatb-b', ns: peerNs });
    const veth = { peerNs, peerIface: 'vgnatb-b' };
    const cases: Case[] = [
      // The TPACKET ring holds ring_frames; the socket buffer (rx=mmsg) ~4 MiB of skbs, ~5000 small frames.
      { what: 'af_packet', driver: 'af_packet', options: { iface: 'vgnatb-a', netns: portNs, ring_frames: '32768' }, ...veth, fill: 30000, tx: true, prepare: null },
      { what: 'af_packet rx=mmsg', driver: 'af_packet', options: { iface: 'vgnatb-a', netns: portNs, rx: 'mmsg' }, ...veth, fill: 3000, tx: false, prepare: null },
      {
        what: 'tap',
        driver: 'tap',
        options: { name: 'vgnatb-t', netns: tapNs },
        peerNs: tapNs,
        peerIface: 'vgnatb-t',
        fill: 6000,
        tx: true,
        // The tap's queue holds txqueuelen frames; the kernel resizes it when that changes.
        prepare: () => lab.run(tapNs, 'ip', ['link', 'set', 'vgnatb-t', 'txqueuelen', '8192']),
      },
    ];
    const pool = new BufferPool(4096);
    for (const c of cases) {
      if (!asked.includes(c.driver)) continue;
      if (!drivers.includes(c.driver)) {
        console.log(`${c.what}: not built`);
        continue;
      }
      try {
        await runCase(c, lab, pool, o);
      } catch (e) {
        console.log(`${c.what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  } finally {
    lab.cleanup();
  }
}

/** Set in the process that measures one driver of a run. */
const CHILD = 'VAIGAI_BENCH_PORT_CHILD';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ms: { type: 'string', default: '1000' },
      burst: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '2' },
      drivers: { type: 'string', default: 'af_packet,tap,af_xdp,dpdk' },
    },
  });
  const o: BenchOptions = { ms: Number(values.ms), burst: Number(values.burst), rounds: Number(values.rounds) };
  const asked = values.drivers.split(',');
  const reason = netTestSkipReason();
  if (reason) return console.log(`bench/port: skipped: ${reason}`);
  // Every RX measurement is filled by an af_packet sender.
  if (!nativeDrivers().includes('af_packet')) return console.log(`bench/port: skipped: ${nativeLoadError()}`);
  if (process.env[CHILD] === undefined) {
    console.log(`bench/port: ${FRAME}-byte frames, bursts of ${o.burst}; TX medians of ${o.rounds * TX_SLICES} slices of ${Math.round(o.ms / TX_SLICES)} ms per side, RX medians of ${o.rounds * RX_DRAINS} drains; ${cpuPlan().note}`);
  }
  if (asked.length > 1) {
    // One process per driver, as one worker per queue: V8's feedback for the
    // JS loop sees one driver's queues, not every queue of the run.
    for (const d of asked) {
      const args = ['--ms', values.ms, '--burst', values.burst, '--rounds', values.rounds, '--drivers', d];
      spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], { stdio: 'inherit', env: { ...process.env, [CHILD]: '1' } });
    }
    return;
  }
  pinBenchCore();
  await benchKernelSockets(o, asked);
  await benchXdpDpdk(o, asked.filter((d) => d === 'af_xdp' || d === 'dpdk'));
}

await main();
