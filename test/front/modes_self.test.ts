/**
 * vaigAI against vaigAI, both on two workers (namespaces this file creates,
 * prefix vgmod-, 198.18.66.0/24): the udp://, icmp:// and tcp:// clients
 * against `--listen udp:7:echo --listen tcp:9:discard` and the stack's echo
 * replies; what one side counts sent, the other counts received.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrontLab, frontSkipReason } from './lab.js';

const SERVER_IP = '198.18.66.2';
const CLIENT_IP = '198.18.66.10';
/** The kernel address of the server's namespace: unused, but FrontLab.pair gives it one. */
const KERNEL_IP = '198.18.66.1';

test('vaigAI client against vaigAI --listen, two workers each: the counters of both sides agree', { timeout: 180_000 }, async (t) => {
  const skip = await frontSkipReason(['ethtool']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgmod-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf, peerIf } = f.pair(KERNEL_IP);
  const srvJson = join(f.dir, 'server.json');
  const server = await f.startVaigai(peer, [
    '--port', `af_packet:iface=${peerIf}`, '--src-ip', SERVER_IP, '--workers', '2', '--json', srvJson, '--listen', 'udp:7:echo', '--listen', 'tcp:9:discard',
  ]);
  t.after(() => server.stop());
  const client = async (name: string, args: string[]): Promise<Record<string, unknown>> => {
    const json = join(f.dir, `${name}.json`);
    const r = await f.vaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', CLIENT_IP, '--workers', '2', '--json', json, ...args], 60_000);
    assert.equal(r.code, 0, r.out);
    return (JSON.parse(readFileSync(json, 'utf8')) as { app: Record<string, unknown> }).app;
  };

  const udp = await client('udp', ['--client', `udp://${SERVER_IP}:7`, '--rate', '400', '--requests', '1000', '--payload-size', '512']);
  assert.deepEqual([udp.sent, udp.received, udp.lost, udp.bytesOut], [1000, 1000, 0, 512_000]);
  const icmp = await client('icmp', ['--client', `icmp://${SERVER_IP}`, '--rate', '200', '--requests', '300']);
  assert.deepEqual([icmp.sent, icmp.received], [300, 300]);
  const tcp = await client('tcp', ['--client', `tcp://${SERVER_IP}:9`, '--rate', '500', '--requests', '400', '--connections', '16', '--payload-size', '3000']);
  assert.deepEqual([tcp.attempts, tcp.established, tcp.closed, tcp.bytesOut], [400, 400, 400, 1_200_000]);

  assert.equal(await server.stop(), 0, server.out);
  const s = JSON.parse(readFileSync(srvJson, 'utf8')) as { app: Record<string, Record<string, number>>; counters: { icmpRxEchoRequests: number; icmpTxEchoReplies: number } };
  assert.deepEqual(s.app['udp:7:echo'], { datagramsIn: 1000, datagramsOut: 1000, bytesIn: 512_000, bytesOut: 512_000 }, server.out);
  assert.deepEqual([s.counters.icmpRxEchoRequests, s.counters.icmpTxEchoReplies], [300, 300], server.out);
  assert.deepEqual(s.app['tcp:9:discard'], { accepted: 400, closed: 400, bytesIn: 1_200_000, bytesOut: 0 }, server.out);
});
