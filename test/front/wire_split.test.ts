/**
 * The wire-level split (issue 22) against tshark on the server's interface:
 * `vaigai --client` over af_packet against nginx (namespaces of this file,
 * prefix vgwr-, 198.18.120.0/24), one request per connection at a moderate
 * rate (so the comparison is about clocks, not queueing), and tshark timing
 * the same connections where nginx sees them: SYN -> SYN-ACK, each request
 * -> the first segment acknowledging it, request -> response (`http.time`).
 *
 * vaigAI times them from its own packets' stamps: the device's transmit
 * stamp of a burst's first frame (veth's, read from the error queue) and the
 * kernel's receive time of the answer (the TPACKET_V2 ring's). What stays
 * between the two sides is the two veth crossings, which the server's side
 * cannot see, so ours is never below tshark's and above it by the crossings.
 * Measured on this 2-core VM, idle: a SYN's 18-20 µs (the whole exchange runs
 * in our send call's softirq, and the SYN-ACK reaches our socket only after
 * the server's SYN handling unwinds), a request's ACK 10-13 µs and its
 * response 7-12 µs; under a load of 3: 2-6, 4-14 and 6-12 µs. The issue asks
 * 20 µs; the bound here keeps 10 µs of margin for a loaded CI machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../src/run/result_schema.js';
import { FrontLab, frontSkipReason } from './lab.js';
import { median, ServerCapture } from './server_capture.js';

const NGINX_IP = '198.18.120.1';
const GEN_IP = '198.18.120.10';
/** How far above the server side's p50 ours may be: the two veth crossings (see above). */
const ABOVE_US = 30;
/** Below it only by the histogram's rounding: a clock that is off shows here. */
const BELOW_US = 2;

test('wire split against tshark on the server side: connect, wire_rtt and server p50 at most 30 µs above the server side\'s', { timeout: 120_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'tshark', 'ethtool']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgwr-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf, peerIf } = f.pair(NGINX_IP);
  f.randomFile('small.bin', 100);
  await f.nginx(peer, NGINX_IP, null);
  const cap = await ServerCapture.start(f, peer, peerIf, 8080);
  const json = join(f.dir, 'split.json');
  const r = await f.vaigai(gen, ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP, '--client', `http://${NGINX_IP}:8080/small.bin`,
    '--conn-per-request', '--rate', '50', '--duration', '4', '--json', json], 60_000);
  assert.equal(r.code, 0, r.out);
  await cap.stop();
  const res = JSON.parse(readFileSync(json, 'utf8')) as RunResult;
  const app = res.app as { responses: number; connections: { ok: number } };
  const ph = res.phases;

  const synAck = cap.times(`ip.src==${NGINX_IP} && tcp.flags.syn==1 && tcp.flags.ack==1`, 'tcp.analysis.ack_rtt');
  const http = cap.times('http.response', 'http.time');
  // Each request's first acknowledgment: the server's segment whose ACK covers the request's frame.
  const requests = new Set(cap.rows('http.request', 'frame.number').map(([n]) => n));
  const dataAcks = cap
    .rows(`ip.src==${NGINX_IP} && tcp.analysis.acks_frame`, 'tcp.analysis.acks_frame', 'tcp.analysis.ack_rtt')
    .filter(([acked]) => requests.has(acked))
    .map(([, rtt]) => Number(rtt) * 1e6);

  await t.test('every connection and answer is timed, on the kernel stamps at both ends', () => {
    // 200 connections at 50/s for 4 s; a loaded machine may open fewer.
    assert.ok(app.responses >= 100, `about 200 connections at 50/s for 4 s: ${app.responses}\n${r.out}`);
    assert.deepEqual(res.meta.clocks, { connect: 'kernel', ttfb: 'kernel', response: 'kernel', wire_rtt: 'kernel', server: 'kernel' });
    assert.equal(ph.connect.count, app.connections.ok);
    assert.equal(ph.server.count, app.responses);
    // A SYN and a request per connection, each acknowledged once.
    assert.equal(ph.wire_rtt.count, 2 * app.connections.ok);
    // The server's time is inside the response time: the request's last byte left after its first, the answer's first came before its last.
    assert.ok(ph.server.p50 <= ph.response.p50, JSON.stringify(ph));
    // The medians need most of the frames, not all: a capture may miss one on a busy machine.
    for (const [what, xs] of [['SYN-ACKs', synAck], ['responses', http], ['request ACKs', dataAcks]] as const) {
      assert.ok(xs.length >= app.responses * 0.9 && xs.length <= app.responses, `tshark saw ${xs.length} ${what} of ${app.responses}`);
    }
  });

  const agree = (what: string, ours: number, theirs: number): void => {
    t.diagnostic(`${what} p50: vaigai ${ours} us, tshark on the server side ${theirs.toFixed(1)} us`);
    const d = ours - theirs;
    assert.ok(d >= -BELOW_US && d <= ABOVE_US, `${what}: vaigai p50 ${ours} us vs the server side's ${theirs.toFixed(1)} us\n${JSON.stringify(ph)}`);
  };

  await t.test('connect (the SYN part of the wire round trip): SYN -> SYN-ACK', () => agree('connect', ph.connect.p50, median(synAck)));
  await t.test('wire_rtt: SYN -> SYN-ACK and request -> its ACK', () => agree('wire_rtt', ph.wire_rtt.p50, median([...synAck, ...dataAcks])));
  await t.test('server: request -> response', () => agree('server', ph.server.p50, median(http)));
});
