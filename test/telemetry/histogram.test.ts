import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { HdrLayout, HdrRecorder, Histogram, createSharedHistograms } from '../../src/telemetry/histogram.js';

// Reference strings produced by other HdrHistogram implementations.
const REF_100_200_250 = 'HISTFAAAACV4nJNpmSzMwMDAwQABzFCaEUrp2H+AsI4zMh1lZEpkAgBdIQSk'; // (1, 300, 3 digits): 100, 200, 250
const REF_42 = 'HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM='; // hdr-histogram-js: one value, 42

test('the V2 encoding matches a reference histogram byte for byte', () => {
  const h = new Histogram({ lowest: 1, highest: 300, digits: 3 });
  for (const v of [100, 200, 250]) h.record(v);
  const ref = inflateSync(Buffer.from(REF_100_200_250, 'base64').subarray(8));
  assert.deepEqual(Buffer.from(h.encodeRaw()), ref);
  assert.equal(h.encode(), REF_100_200_250);
});

test('reference strings decode to their values', () => {
  const a = Histogram.decode(REF_100_200_250);
  assert.equal(a.totalCount, 3);
  assert.deepEqual([a.countAt(100), a.countAt(200), a.countAt(250)], [1, 1, 1]);
  assert.equal(a.min, 100);
  assert.equal(a.max, 250);
  const b = Histogram.decode(REF_42);
  assert.equal(b.totalCount, 1);
  assert.equal(b.mean, 42);
});

test('every value lands in a cell whose range holds it within the asked precision', () => {
  for (const digits of [1, 2, 3, 4]) {
    const l = new HdrLayout({ lowest: 1, highest: 2 ** 50, digits });
    let prev = -1;
    for (let v = 0; v < 2 ** 50; v = v < 4096 ? v + 1 : Math.floor(v * 1.013)) {
      const i = l.index(v);
      assert.ok(i >= prev && i < l.countsLen, `index of ${v} out of order or range`);
      prev = i;
      const lo = l.lowestEquivalent(v);
      const hi = l.highestEquivalent(v);
      assert.ok(lo <= v && v <= hi + 0.999, `${v} outside [${lo}, ${hi}]`);
      assert.ok(hi - lo + 1 <= Math.max(1, v / 10 ** digits), `${v}: range ${hi - lo + 1} too wide for ${digits} digits`);
    }
  }
});

test('percentiles, mean, min and max of 1..10000', () => {
  const h = new Histogram({ lowest: 1, highest: 3_600_000_000, digits: 3 });
  for (let v = 1; v <= 10_000; v++) h.record(v);
  assert.equal(h.totalCount, 10_000);
  assert.equal(h.min, 1);
  assert.equal(h.max, h.layout.highestEquivalent(10_000));
  for (const [p, want] of [
    [50, 5000],
    [90, 9000],
    [99, 9900],
    [99.9, 9990],
  ]) {
    const got = h.valueAtPercentile(p);
    assert.ok(Math.abs(got - want) <= want / 1000 + 1, `p${p} = ${got}, want ~${want}`);
  }
  assert.ok(Math.abs(h.mean - 5000.5) < 5, `mean ${h.mean}`);
});

test('worker regions merge on the management side; out-of-range values are clamped and counted', () => {
  const shared = createSharedHistograms({ lowest: 1, highest: 1_000_000, digits: 2 }, 3);
  const r0 = new HdrRecorder(shared, 0);
  const r2 = new HdrRecorder(shared, 2);
  r0.record(10);
  r0.recordN(500, 4);
  r2.record(20);
  r2.record(5_000_000);
  r2.record(-3);
  const h = Histogram.merged(shared);
  assert.equal(h.totalCount, 8);
  assert.equal(h.countAt(500), 4);
  assert.equal(h.countAt(0), 1);
  assert.equal(h.countAt(1_000_000), 1);
  assert.equal(h.clamped, 2);
  assert.equal(h.min, 0);
  assert.throws(() => new HdrRecorder(shared, 3), /no histogram region/);
});


test('a merge read while its worker records: the total is the cells\' as read, so the intervals add up to the run', () => {
  const shared = createSharedHistograms({ lowest: 1, highest: 1_000_000, digits: 2 }, 2);
  const r1 = new HdrRecorder(shared, 1);
  r1.recordN(40, 3);
  // A record caught between its cell and its region's header (the worker's total is the region's first cell).
  const total = new Float64Array(shared.sab, new HdrLayout(shared.params).stride * 8, 1);
  r1.record(70);
  total[0] -= 1;
  const first = Histogram.merged(shared);
  assert.equal(first.totalCount, 4);
  total[0] += 1;
  r1.record(90);
  const second = Histogram.merged(shared);
  const interval = Histogram.difference(second, first);
  assert.equal(first.clone().totalCount + interval.totalCount, second.totalCount);
  assert.equal(interval.totalCount, 1);
  assert.equal(interval.countAt(90), 1);
});
test('encode/decode round-trips a histogram with long zero runs and large counts', () => {
  const h = new Histogram({ lowest: 1, highest: 60_000_000, digits: 3 });
  h.record(1, 2 ** 40);
  h.record(77);
  h.record(1_234_567, 3);
  h.record(59_999_999);
  const back = Histogram.decode(h.encode());
  assert.equal(back.totalCount, h.totalCount);
  assert.deepEqual(Buffer.from(back.encodeRaw()), Buffer.from(h.encodeRaw()));
  assert.equal(back.valueAtPercentile(100), h.valueAtPercentile(100));
});

test('bad parameters and bad encodings are refused with a RangeError', () => {
  assert.throws(() => new HdrLayout({ lowest: 0, highest: 10, digits: 3 }), /lowest/);
  assert.throws(() => new HdrLayout({ lowest: 1, highest: 1, digits: 3 }), /highest/);
  assert.throws(() => new HdrLayout({ lowest: 1, highest: 100, digits: 6 }), /digits/);
  assert.throws(() => Histogram.decode('bm90IGEgaGlzdG9ncmFt'), /not a compressed V2/);
  const bad = Buffer.from(REF_42, 'base64');
  bad[20] ^= 0xff;
  assert.throws(() => Histogram.decode(bad.toString('base64')), RangeError);
  const a = new Histogram({ lowest: 1, highest: 100, digits: 2 });
  assert.throws(() => a.add(new Histogram({ lowest: 1, highest: 1000, digits: 2 })), /different geometry/);
});
