/**
 * vaigAI's client against `vaigai --server`, each in its own namespace on one
 * veth pair, the server pinned to core 1 and the client to core 0, one worker
 * each, both started as a user would. One round: requests/s (connections/s
 * with one connection per request) and each side's CPU share over the load.
 */
import { join } from 'node:path';
import type { NetnsLab } from '../test/helpers/netns.js';
import { MAIN, runVaigaiClient, startVaigai } from './vaigai_run.js';

/** Two namespaces joined by a veth pair, no kernel address on either end. */
export interface VaigaiPair {
  lab: NetnsLab;
  clientNs: string;
  serverNs: string;
  clientIf: string;
  serverIf: string;
  /** --src-ip of the client (an address or a range) and of the server. */
  clientIp: string;
  serverIp: string;
  driver: 'af_xdp' | 'af_packet';
  /** Scratch directory for the JSON files. */
  dir: string;
}

/** Builds the pair's namespaces and veth in `lab` (names `<prefix>c`, `<prefix>s`, links `<prefix>c0`, `<prefix>s0`). */
export function addVaigaiPair(lab: NetnsLab, tag: string, clientIp: string, serverIp: string, driver: VaigaiPair['driver'], dir: string): VaigaiPair {
  const clientNs = lab.addNs(`${tag}c`);
  const serverNs = lab.addNs(`${tag}s`);
  const clientIf = `${lab.prefix}${tag}c0`;
  const serverIf = `${lab.prefix}${tag}s0`;
  lab.addVeth({ name: clientIf, ns: clientNs }, { name: serverIf, ns: serverNs });
  return { lab, clientNs, serverNs, clientIf, serverIf, clientIp, serverIp, driver, dir };
}

export interface PairRound {
  /** Requests/s, or connections/s with connPerRequest. */
  rate: number;
  clientCpu: number;
  serverCpu: number;
}

export async function pairRound(p: VaigaiPair, o: { seconds: number; connections: number; connPerRequest: boolean; main?: string }): Promise<PairRound> {
  const main = o.main ?? MAIN;
  const srv = await startVaigai(p.lab, p.serverNs, 1, ['--port', `${p.driver}:iface=${p.serverIf}`, '--src-ip', p.serverIp, '--server', '--duration', String(o.seconds + 30)], main);
  try {
    const r = await runVaigaiClient(
      p.lab, p.clientNs, 0,
      ['--port', `${p.driver}:iface=${p.clientIf}`, '--src-ip', p.clientIp, '--client', `http://${p.serverIp}/`, '--connections', String(o.connections), ...(o.connPerRequest ? ['--conn-per-request'] : [])],
      o.seconds, join(p.dir, 'pair-client.json'), main,
    );
    const app = r.json.app;
    return { rate: o.connPerRequest ? app.connections.perSecond : app.requestsPerSecond, clientCpu: r.cpu, serverCpu: srv.watch.share(r.fromMs, r.toMs) };
  } finally {
    await srv.stop();
  }
}
