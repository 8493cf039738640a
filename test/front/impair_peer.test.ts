/**
 * The issue-5 check with Linux as the peer through the user-space netem: three
 * namespaces (prefix vgfr-, 198.18.7.0/24), the `vaigai` client (user-space
 * TCP, 198.18.7.10) in the first, a `vaigai impair` hop bridging two veths in
 * the second, nginx (the kernel's TCP, 198.18.7.2) in the third. The client
 * downloads 20 MB through 1% loss, 5% loss, 20 ms delay and reordering, and
 * the body's sha256 must be the file's; the hop's counters show it impaired.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonReport } from '../../src/impair/report.js';
import { FrontLab, frontSkipReason, printedSha } from './lab.js';

const CLIENT_IP = '198.18.7.10';
const SERVER_IP = '198.18.7.2';

interface Case {
  name: string;
  args: string[];
  check: (r: JsonReport) => void;
}

const CASES: Case[] = [
  { name: '1% loss', args: ['--both', 'loss=1%', '--seed', '3'], check: (r) => assert.ok(r.bToA.dropLoss > 0, 'frames were lost') },
  {
    name: '5% loss',
    args: ['--both', 'loss=5%', '--seed', '5'],
    check: (r) => {
      const share = r.bToA.dropLoss / r.bToA.offered;
      assert.ok(share > 0.03 && share < 0.07, `server->client loss share ${share}`);
    },
  },
  {
    name: '20 ms delay',
    args: ['--both', 'delay=20ms', '--a-to-b', 'limit=8000', '--b-to-a', 'limit=8000'],
    check: (r) => assert.ok(r.bToA.delayed > 10_000, `delayed ${r.bToA.delayed}`),
  },
  {
    name: '5% reordering',
    args: ['--both', 'delay=2ms,reorder=5%', '--seed', '9'],
    check: (r) => assert.ok(r.bToA.reordered > 100, `reordered ${r.bToA.reordered}`),
  },
];

test('vaigai client downloads 20 MB from nginx through the impair hop: loss, delay, reordering', { timeout: 900_000 }, async (t) => {
  const skip = await frontSkipReason(['nginx', 'curl', 'ethtool']);
  if (skip !== null) return t.skip(skip);
  const f = new FrontLab('vgfr-');
  t.after(() => f.cleanup());
  const trio = f.hopTrio(SERVER_IP);
  const file = f.randomFile('big.bin', 20 << 20);
  await f.nginx(trio.kernel, SERVER_IP, null);

  for (const c of CASES) {
    await t.test(c.name, async () => {
      const json = join(f.dir, 'hop.json');
      const hop = await f.startHop(trio, json, c.args);
      try {
        const r = await f.vaigai(
          trio.gen,
          ['--port', `af_packet:iface=${trio.genIf}`, '--src-ip', CLIENT_IP, '--client', `http://${SERVER_IP}:8080/big.bin`, '--sha256'],
          240_000,
        );
        assert.equal(r.code, 0, r.out);
        assert.equal(printedSha(r.out), file.sha256, r.out);
      } finally {
        assert.equal(await hop.stop(), 0, hop.out);
      }
      c.check(JSON.parse(readFileSync(json, 'utf8')) as JsonReport);
    });
  }
});
