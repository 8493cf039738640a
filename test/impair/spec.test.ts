import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_LIMIT,
  DIST_NORMAL,
  ImpairSpecError,
  LOSS_GE,
  LOSS_NONE,
  LOSS_RANDOM,
  effectiveBurst,
  formatSpec,
  isPassThrough,
  parseImpairSpec,
} from '../../src/impair/spec.js';

test('spec: parses every key with its units', () => {
  const s = parseImpairSpec(
    'loss=1.5%, delay=20ms,jitter=500us,dist=normal,reorder=5%,duplicate=1%,corrupt=0.1%,rate=100mbit,burst=16kb,limit=200',
  );
  assert.equal(s.lossModel, LOSS_RANDOM);
  assert.equal(s.loss, 0.015);
  assert.equal(s.delayUs, 20_000);
  assert.equal(s.jitterUs, 500);
  assert.equal(s.dist, DIST_NORMAL);
  assert.equal(s.reorder, 0.05);
  assert.equal(s.duplicate, 0.01);
  assert.equal(s.corrupt, 0.001);
  assert.equal(s.rateBps, 100e6);
  assert.equal(s.burstBytes, 16384);
  assert.equal(s.limit, 200);
  assert.equal(parseImpairSpec('rate=10mbps').rateBps, 80e6, 'bps units are bytes, as in tc');
  assert.equal(parseImpairSpec('delay=1.5s').delayUs, 1_500_000);
});

test('spec: empty text is pass-through with netem defaults', () => {
  const s = parseImpairSpec('');
  assert.equal(s.lossModel, LOSS_NONE);
  assert.equal(s.limit, DEFAULT_LIMIT);
  assert.ok(isPassThrough(s));
  assert.equal(formatSpec(s), 'none');
  assert.ok(!isPassThrough(parseImpairSpec('delay=1ms')));
});

test('spec: Gilbert-Elliott loss with defaults for the state loss rates', () => {
  const s = parseImpairSpec('loss=ge:1%:30%');
  assert.equal(s.lossModel, LOSS_GE);
  assert.equal(s.geP, 0.01);
  assert.equal(s.geR, 0.3);
  assert.equal(s.geLossBad, 1);
  assert.equal(s.geLossGood, 0);
  const t = parseImpairSpec('loss=ge:1%:30%:80%:0.1%');
  assert.equal(t.geLossBad, 0.8);
  assert.equal(t.geLossGood, 0.001);
});

test('spec: a direction refines the spec for both', () => {
  const both = parseImpairSpec('delay=10ms,loss=1%');
  const ab = parseImpairSpec('loss=2%', both);
  assert.equal(ab.delayUs, 10_000);
  assert.equal(ab.loss, 0.02);
  assert.equal(both.loss, 0.01, 'the base is not modified');
});

test('spec: the burst defaults to 1 ms at the rate, never below two frames', () => {
  assert.equal(effectiveBurst(parseImpairSpec('rate=100mbit')), 12_500);
  assert.equal(effectiveBurst(parseImpairSpec('rate=1mbit')), 3028);
  assert.equal(effectiveBurst(parseImpairSpec('rate=1mbit,burst=4000')), 4000);
});

function refused(text: string, key: string, detail: RegExp): void {
  assert.throws(
    () => parseImpairSpec(text),
    (e: unknown) => {
      assert.ok(e instanceof ImpairSpecError, `${text}: ${String(e)}`);
      assert.equal(e.key, key);
      assert.match(e.message, new RegExp(`'${key}'`), 'the message names the key');
      assert.match(e.message, detail);
      return true;
    },
  );
}

test('spec: bad specs are refused with a message naming the key', () => {
  refused('lost=1%', 'lost', /unknown key/);
  refused('delay=5ms,bogus=3', 'bogus', /unknown key/);
  refused('loss=150%', 'loss', /between 0% and 100%/);
  refused('loss=ge:1%:130%', 'loss', /between 0% and 100%/);
  refused('loss=0.01', 'loss', /percentage/);
  refused('delay=-5ms', 'delay', /negative/);
  refused('jitter=-1ms', 'jitter', /negative/);
  refused('delay=20', 'delay', /time such as 20ms/);
  refused('duplicate=-1%', 'duplicate', /negative/);
  refused('rate=100', 'rate', /rate such as 100mbit/);
  refused('rate=0mbit', 'rate', /above zero/);
  refused('burst=100', 'burst', /full frame/);
  refused('limit=0', 'limit', /frame count/);
  refused('limit=2.5', 'limit', /frame count/);
  refused('dist=pareto', 'dist', /uniform or normal/);
  refused('reorder=5%', 'reorder', /needs a delay/);
  refused('loss', 'loss', /key=value/);
  refused('ecn=yes,loss=1%', 'ecn', /on or off/);
  refused('ecn=on', 'ecn', /give loss too/);
});

test('spec: formatSpec writes back what was parsed', () => {
  const text = formatSpec(parseImpairSpec('loss=1%,delay=20ms,reorder=5%,rate=1gbit,limit=50'));
  assert.equal(text, 'loss=1%,delay=20ms,reorder=5%,rate=1gbit,burst=125000,limit=50');
  assert.deepEqual(parseImpairSpec(text), parseImpairSpec('loss=1%,delay=20ms,reorder=5%,rate=1gbit,limit=50,burst=125000'));
  for (const t of ['loss=ge:1%:30%:100%:0%,delay=1500us,jitter=2s,dist=normal', 'duplicate=0.5%,corrupt=0.01%,rate=1500kbit,burst=3028', 'loss=2%,ecn=on']) {
    assert.equal(formatSpec(parseImpairSpec(t)), t);
  }
});
