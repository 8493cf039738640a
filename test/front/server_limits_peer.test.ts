/**
 * `vaigai --server` driven as a user would, against kernel sockets in
 * namespaces this file creates (prefix vgsrvt-, 198.18.48.0/24): slowloris
 * heads and idle keep-alive connections are closed at --header-timeout and
 * --idle-timeout, each counted under its reason; under pipelining abuse the
 * counters reconcile exactly; 2,000 idle connections, once closed, leave no
 * open connection and an empty free list behind (RSS reported, not asserted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCAPY_PYTHON } from '../helpers/netns.js';
import { assertReconciled } from '../app/server_stats.js';
import { FrontLab, frontSkipReason, type Proc } from './lab.js';

const PEER_IP = '198.18.48.1';
const GEN_IP = '198.18.48.2';

/** The server's counters from the --json file vaigai writes at exit. */
function app(path: string): Record<string, number> {
  return (JSON.parse(readFileSync(path, 'utf8')) as { app: Record<string, number> }).app;
}

/** The server's counters of the last progress event of the --out ndjson stream (one a second), or null before the first. */
function liveApp(path: string): Record<string, number> | null {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.startsWith('{"type":"progress"'));
  return lines.length === 0 ? null : (JSON.parse(lines[lines.length - 1]) as { app: Record<string, number> }).app;
}

/** Polls the --out ndjson stream until `ok` holds (bounded); returns the last counters. */
async function until(path: string, ok: (a: Record<string, number>) => boolean, ms: number): Promise<Record<string, number>> {
  const end = Date.now() + ms;
  let a: Record<string, number> = {};
  while (Date.now() < end) {
    if (existsSync(path)) {
      a = liveApp(path) ?? a;
      if (ok(a)) return a;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server counters did not reach the expected state within ${ms} ms: ${JSON.stringify(a)}`);
}

function rssKb(p: Proc): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'));
  return m === null ? -1 : Number(m[1]);
}

test('vaigai --server: timeouts, accounting under abuse, memory after 2,000 idle connections', { timeout: 300_000 }, async (t) => {
  const skip = await frontSkipReason(['ss']);
  if (skip !== null) return t.skip(skip);
  if (!existsSync(SCAPY_PYTHON)) return t.skip(`${SCAPY_PYTHON} is missing`);
  const f = new FrontLab('vgsrvt-');
  t.after(() => f.cleanup());
  const { gen, peer, genIf } = f.pair(PEER_IP);
  let runs = 0;
  /** A fresh --json file and event stream per run, so no run reads another's counters. */
  const args = (): { json: string; nd: string; base: string[] } => {
    const json = join(f.dir, `server${runs}.json`);
    const nd = join(f.dir, `server${runs++}.ndjson`);
    return { json, nd, base: ['--port', `af_packet:iface=${genIf}`, '--src-ip', GEN_IP, '--duration', '200', '--server', '--json', json, '--out', `ndjson=${nd}`] };
  };

  await t.test('slowloris heads are closed at --header-timeout, idle keep-alive connections at --idle-timeout', async () => {
    const { json, nd, base } = args();
    const v = await f.startVaigai(gen, [...base, '--header-timeout', '1', '--idle-timeout', '1']);
    let out: { slow: (number | null)[]; sent: number[]; idle: (number | null)[]; answers: number; headLen: number; estab: number; closeWait: number };
    try {
      // 5 connections send a head a byte every 300 ms (it would take 14 s); 5 send one request, then wait.
      // Each records when it read the server's FIN; then `ss` counts our sockets by state.
      out = JSON.parse(f.lab.run(peer, SCAPY_PYTHON, ['-c', `
import json, socket, subprocess, time
GEN = ('${GEN_IP}', 80)
HEAD = b'GET / HTTP/1.1\\r\\nHost: x\\r\\nUser-Agent: slowloris\\r\\n\\r\\n'
slow = [socket.create_connection(GEN, timeout=5) for _ in range(5)]
idle = [socket.create_connection(GEN, timeout=5) for _ in range(5)]
answers = 0
for s in idle:
    s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
for s in idle:
    d = b''
    while not d.endswith(b'\\r\\n\\r\\n'):
        d += s.recv(4096)
    answers += d.count(b'HTTP/1.1 200 ')
t0 = time.monotonic()
sent = [0] * 5
first = [None] * 5
eof_slow = [None] * 5
eof_idle = [None] * 5
for s in slow + idle:
    s.setblocking(False)
def eof(s):
    try:
        return s.recv(1) == b''
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
while time.monotonic() - t0 < 15 and (None in eof_slow or None in eof_idle):
    now = time.monotonic()
    for k, s in enumerate(slow):
        if eof_slow[k] is not None:
            continue
        if eof(s):
            eof_slow[k] = now - first[k]
        elif sent[k] < len(HEAD) and (first[k] is None or now - first[k] >= 0.3 * sent[k]):
            if first[k] is None:
                first[k] = now
            try:
                s.send(HEAD[sent[k]:sent[k] + 1])
                sent[k] += 1
            except OSError:
                pass
    for k, s in enumerate(idle):
        if eof_idle[k] is None and eof(s):
            eof_idle[k] = now - t0
    time.sleep(0.01)
def count(state):
    r = subprocess.run(['ss', '-Htn', 'state', state, 'dst', '${GEN_IP}:80'], capture_output=True, text=True, check=True)
    return len([l for l in r.stdout.splitlines() if l.strip()])
estab, close_wait = count('established'), count('close-wait')
for s in slow + idle:
    s.close()
print(json.dumps({'slow': eof_slow, 'sent': sent, 'idle': eof_idle, 'answers': answers, 'headLen': len(HEAD), 'estab': estab, 'closeWait': close_wait}))
`]));
      await until(nd, (a) => a.closedHeaderTimeout + a.closedIdleTimeout === 10, 5_000);
    } finally {
      assert.equal(await v.stop(), 0, v.out);
    }
    t.diagnostic(`slowloris closed after ${out.slow.map((s) => s?.toFixed(2)).join(', ')} s (bytes sent ${out.sent.join(', ')}); idle after ${out.idle.map((s) => s?.toFixed(2)).join(', ')} s`);
    assert.equal(out.answers, 5, 'each idle connection had its answer');
    for (let k = 0; k < 5; k++) {
      const s = out.slow[k];
      const i = out.idle[k];
      assert.ok(s !== null && s >= 0.95, `slowloris ${k} closed by the server, not before the header timeout (${s})`);
      assert.ok(out.sent[k] < out.headLen, `slowloris ${k}: its head never completed (${out.sent[k]} bytes)`);
      assert.ok(i !== null && i >= 0.95, `idle ${k} closed by the server, not before the idle timeout (${i})`);
    }
    assert.deepEqual([out.estab, out.closeWait], [0, 10], 'in the peer: no connection left established, all 10 closed by the server');
    const a = app(json);
    assert.deepEqual(
      [a.accepted, a.closedHeaderTimeout, a.closedIdleTimeout, a.requests, a.responses, a.open],
      [10, 5, 5, 5, 5, 0],
      JSON.stringify(a),
    );
    assertReconciled(a);
  });

  await t.test('pipelining abuse: shed, garbage and cut requests; every request and connection accounted for', async () => {
    const { json, nd, base } = args();
    const v = await f.startVaigai(gen, base);
    let out: { garbage: number; cut: number; shedReset: boolean };
    try {
      out = JSON.parse(f.lab.run(peer, SCAPY_PYTHON, ['-c', `
import json, socket, time
GEN = ('${GEN_IP}', 80)
def req(path):
    return ('GET %s HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' % path).encode()
def answers(s):
    d = b''
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        d += b
    return d.count(b'HTTP/1.1 ')
# 1,000 pipelined requests for 100 kB each, never read: the server sheds the connection.
shed = socket.create_connection(GEN, timeout=10)
shed.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
shed.sendall(req('/bytes/100000') * 1000)
# 50 requests and garbage: 50 answers and a 400, then the server closes.
g = socket.create_connection(GEN, timeout=10)
g.sendall(req('/bytes/10') * 50 + b'GARBAGE\\r\\n\\r\\n' + req('/') * 5)
garbage = answers(g)
# 20 requests, half a request, FIN: 20 answers and a 400 for the cut one.
c = socket.create_connection(GEN, timeout=10)
c.sendall(req('/bytes/10') * 20 + b'GET /x HTTP/1.1\\r\\nHo')
c.shutdown(socket.SHUT_WR)
cut = answers(c)
shed_reset = False
end = time.monotonic() + 10
while time.monotonic() < end:
    try:
        shed.send(b'x')
    except (BrokenPipeError, ConnectionResetError):
        shed_reset = True
        break
    time.sleep(0.1)
print(json.dumps({'garbage': garbage, 'cut': cut, 'shedReset': shed_reset}))
`]));
      const done = await until(nd, (a) => a.accepted === 3 && a.open === 0, 5_000);
      assert.deepEqual(
        [done.accepted, done.closedShed, done.closedServer, done.closedPeer, done.droppedShed, done.errors, done.inProgress],
        [3, 1, 1, 1, 257, 2, 0],
        JSON.stringify(done),
      );
      assertReconciled(done);
      // Two keep-alive connections still open when the run stops.
      const holder = f.lab.spawn(peer, SCAPY_PYTHON, ['-c', `
import socket, time
ss = [socket.create_connection(('${GEN_IP}', 80), timeout=10) for _ in range(2)]
for s in ss:
    s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
    s.recv(4096)
time.sleep(60)
`]);
      await until(nd, (a) => a.open === 2, 10_000);
      assert.equal(holder.exitCode, null);
    } finally {
      assert.equal(await v.stop(), 0, v.out);
    }
    assert.deepEqual(out, { garbage: 51, cut: 21, shedReset: true });
    // The last counters, written at exit: whatever the stop did to the two, they are accounted for.
    const a = app(json);
    assert.equal(a.accepted, 5);
    assert.equal(a.open + a.closedAborted, 2, JSON.stringify(a));
    assert.ok(a.requests >= 51 + 21 + 257 && a.requests < 51 + 21 + 1000, `requests ${a.requests}`);
    assertReconciled(a);
  });

  await t.test('2,000 idle connections, then closed: no connection left open, the free list back to empty', async () => {
    const { nd, base } = args();
    const v = await f.startVaigai(gen, base);
    const a0 = await until(nd, (a) => a.open === 0, 5_000);
    assert.equal(a0.pooled, 0, 'the free list starts empty');
    const rss0 = rssKb(v);
    const go = join(f.dir, 'close-now');
    const script = f.lab.spawn(peer, SCAPY_PYTHON, ['-c', `
import os, resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
conns = []
for i in range(2000):
    s = socket.create_connection(('${GEN_IP}', 80), timeout=10)
    s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
    conns.append(s)
for s in conns:
    d = b''
    while not d.endswith(b'\\r\\n\\r\\n'):
        d += s.recv(4096)
print('open', flush=True)
end = time.monotonic() + 60
while not os.path.exists('${go}') and time.monotonic() < end:
    time.sleep(0.05)
for s in conns:
    s.close()
print('closed', flush=True)
`]);
    let peerOut = '';
    script.stdout?.on('data', (d: Buffer) => (peerOut += d.toString()));
    script.stderr?.on('data', (d: Buffer) => (peerOut += d.toString()));
    const waitPeer = async (word: string): Promise<void> => {
      for (let i = 0; i < 600 && !peerOut.includes(word); i++) {
        if (script.exitCode !== null && !peerOut.includes(word)) throw new Error(`peer script exited: ${peerOut}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(peerOut.includes(word), `peer script: ${peerOut}`);
    };
    let figures: string;
    try {
      await waitPeer('open');
      const a1 = await until(nd, (a) => a.open === 2000, 10_000);
      assert.deepEqual([a1.accepted, a1.requests, a1.responses], [2000, 2000, 2000]);
      const rss1 = rssKb(v);
      writeFileSync(go, '');
      await waitPeer('closed');
      const a2 = await until(nd, (a) => a.open === 0 && a.pooled === 0, 15_000);
      assert.deepEqual([a2.accepted, a2.closedPeer, a2.open, a2.pooled], [2000, 2000, 0, 0]);
      assertReconciled(a2);
      // The heap gives freed pages back after a collection or two: let the idle server run a little.
      await new Promise((r) => setTimeout(r, 3000));
      figures = `server RSS: ${(rss0 / 1024).toFixed(1)} MB before, ${(rss1 / 1024).toFixed(1)} MB with 2,000 idle connections, ${(rssKb(v) / 1024).toFixed(1)} MB 3 s after they closed`;
    } finally {
      writeFileSync(go, '');
      assert.equal(await v.stop(), 0, v.out);
    }
    t.diagnostic(figures);
    console.log(figures);
  });
});
