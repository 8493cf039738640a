/**
 * The pcapng side of the capture writer and the merge of a trace's parts:
 * two writers (two workers) with their own clocks, merged into one file that
 * tshark reads with every frame, in timestamp order, each with its bytes and
 * its microsecond time; an empty part list gives an empty capture tshark reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/common/clock.js';
import { PcapWriter } from '../../src/port/pcap.js';
import { mergePcapng } from '../../src/port/pcapng_merge.js';

const T0_US = 1_700_000_000_000_000;

/** A 60-byte frame whose byte 14 says which it is (pads to exercise the 4-byte alignment: 61 bytes for odd tags). */
function frame(tag: number): Uint8Array {
  const f = new Uint8Array(60 + (tag & 1));
  f.fill(0xff, 0, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  f[14] = tag;
  return f;
}

test('pcapng parts merged in timestamp order, read by tshark', (t) => {
  if (spawnSync('sh', ['-c', 'command -v tshark'], { stdio: 'ignore' }).status !== 0) return t.skip('tshark is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'vgcn-pcapng-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Worker 0 writes at 0, 20, 40 µs; worker 1 at 11, 31 µs (odd lengths: padded blocks): the merge interleaves them.
  const parts = [0, 1].map((w) => {
    const clock = new ManualClock(T0_US);
    const path = join(dir, `t.part0-w${w}`);
    const wr = new PcapWriter(path, { format: 'pcapng', clock });
    for (const us of w === 0 ? [0, 20, 40] : [11, 31]) {
      clock.set(T0_US + us);
      wr.stamp();
      const f = frame(us);
      wr.writeFrame(f, 0, f.length);
    }
    wr.close();
    assert.equal(wr.frames, w === 0 ? 3 : 2);
    return path;
  });
  const out = join(dir, 'trace.pcapng');
  assert.equal(mergePcapng(parts, out), 5);
  assert.equal(readFileSync(out).readUInt32LE(0), 0x0a0d0d0a);
  const rows = execFileSync('tshark', ['-r', out, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'eth.type'], { encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(
    rows.map((r) => r.split('\t')),
    [0, 11, 20, 31, 40].map((us) => [`1700000000.${String(us).padStart(6, '0')}000`, String(60 + (us & 1)), '0x88b5']),
  );
  const bytes = execFileSync('tshark', ['-r', out, '-T', 'fields', '-e', 'data.data'], { encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(bytes.map((b) => parseInt(b.slice(0, 2), 16)), [0, 11, 20, 31, 40]);

  const empty = join(dir, 'empty.pcapng');
  assert.equal(mergePcapng([], empty), 0);
  assert.equal(execFileSync('tshark', ['-r', empty, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' }).trim(), '');
});
