/**
 * The load model's parts without a network: the stages' scale, arrivals on
 * the schedule with their intended times (however late the tick), the
 * weighted picks, and the live warning's reasons.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/common/prng.js';
import { splitByWeight, WeightedPick } from '../../src/common/weighted.js';
import type { LoadSnapshot } from '../../src/engine/load.js';
import { RateWatch } from '../../src/engine/rate_watch.js';
import { Arrivals, Schedule } from '../../src/engine/schedule.js';
import { RateBudget } from '../../src/engine/rate_budget.js';

test('Schedule: linear stages from `from` to `to`, 1 without stages, 0 past the end', () => {
  const s = new Schedule([
    { durationUs: 10e6, from: 0, to: 1 },
    { durationUs: 10e6, from: 1, to: 1 },
    { durationUs: 5e6, from: 1, to: 0 },
  ]);
  assert.equal(s.totalUs, 25e6);
  assert.equal(s.scaleAt(0), 0);
  assert.equal(s.scaleAt(2.5e6), 0.25);
  assert.equal(s.scaleAt(15e6), 1);
  assert.equal(s.scaleAt(22.5e6), 0.5);
  assert.equal(s.scaleAt(25e6), 0);
  assert.equal(new Schedule([]).scaleAt(1e9), 1);
});

test('Arrivals: constant arrivals keep their intended times when the ticks come late', () => {
  const times: number[] = [];
  const a = new Arrivals(1000, new Schedule([]), null, (t) => times.push(t));
  a.start(0);
  for (let t = 1000; t <= 100_000; t += 1000) a.run(t);
  // A tick 500 ms late: the 500 arrivals it owes come with their own times, not the tick's.
  a.run(600_000);
  assert.equal(times.length, 600);
  times.forEach((t, i) => assert.ok(Math.abs(t - (i + 1) * 1000) < 1e-6, `arrival ${i} at ${t}`));
});

test('Arrivals: a ramp from 0 to 4000/s over 10 s opens 20000, each second on its line', () => {
  const times: number[] = [];
  const a = new Arrivals(4000, new Schedule([{ durationUs: 10e6, from: 0, to: 1 }]), null, (t) => times.push(t));
  a.start(0);
  for (let t = 0; t <= 11e6; t += 1000) a.run(t);
  assert.ok(Math.abs(times.length - 20_000) <= 2, `${times.length} arrivals`);
  for (let k = 0; k < 10; k++) {
    const n = times.filter((t) => t >= k * 1e6 && t < (k + 1) * 1e6).length;
    assert.ok(Math.abs(n - 400 * (k + 0.5)) <= 2, `second ${k}: ${n}`);
  }
});

test('Arrivals: a new rate mid-run (a live change) takes over from the next tick, what was owed kept', () => {
  const times: number[] = [];
  const a = new Arrivals(100, new Schedule([]), null, (t) => times.push(t));
  a.start(0);
  for (let t = 1000; t <= 1e6; t += 1000) a.run(t);
  const first = times.length;
  assert.ok(Math.abs(first - 100) <= 1, `${first} in the first second`);
  a.setRate(1000);
  for (let t = 1e6 + 1000; t <= 2e6; t += 1000) a.run(t);
  const second = times.slice(first);
  assert.ok(Math.abs(second.length - 1000) <= 1, `${second.length} in the second second`);
  assert.ok(second[0] >= 1e6 - 1e-3 && second[0] <= 1e6 + 1000, `the first at the new rate at ${second[0]}`);
  for (let i = 2; i < second.length; i++) assert.ok(Math.abs(second[i] - second[i - 1] - 1000) < 1e-3, `gap ${i}: ${second[i] - second[i - 1]}`);
});

test('RateBudget: a new rate mid-run (a live change) paces from the next call, owing nothing for the time before', () => {
  const b = new RateBudget(100);
  let sent = 0;
  for (let t = 0; t < 1e6; t += 1000) {
    const n = b.due(t, 1000);
    b.spend(n);
    sent += n;
  }
  assert.equal(sent, 100);
  b.setRate(2000);
  let after = 0;
  for (let t = 1e6; t < 2e6; t += 1000) {
    const n = b.due(t, 1000);
    b.spend(n);
    after += n;
  }
  assert.ok(Math.abs(after - 2000) <= 1, `${after} in the second at 2000/s`);
});

test('RateBudget on stages: a ramp from 0 sends the integral of its rate, a held stage its rate; a live change keeps the stages\' clock', () => {
  // 0 -> 1000/s over 1 s, then 1000/s for 1 s, then scaled 0.5 for 1 s.
  const stages = [{ durationUs: 1e6, from: 0, to: 1 }, { durationUs: 1e6, from: 1, to: 1 }, { durationUs: 1e6, from: 0.5, to: 0.5 }];
  const b = new RateBudget(1000, new Schedule(stages));
  const perSecond = [0, 0, 0];
  for (let t = 0; t < 3e6; t += 1000) {
    const n = b.due(t, 1000);
    b.spend(n);
    perSecond[Math.floor(t / 1e6)] += n;
  }
  assert.ok(Math.abs(perSecond[0] - 500) <= 2 && Math.abs(perSecond[1] - 1000) <= 2 && Math.abs(perSecond[2] - 500) <= 2, JSON.stringify(perSecond));
  // A live change to 2000/s at 1 s: the ramp is over, so the held stage sends 2000 in its second.
  const c = new RateBudget(1000, new Schedule(stages));
  let second = 0;
  for (let t = 0; t < 2e6; t += 1000) {
    if (t === 1e6) c.setRate(2000);
    const n = c.due(t, 10_000);
    c.spend(n);
    if (t >= 1e6) second += n;
  }
  assert.ok(Math.abs(second - 2000) <= 2, `${second}`);
});

test('Arrivals: Poisson arrivals hold the rate on average and repeat with the seed', () => {
  const run = (seed: number): number[] => {
    const times: number[] = [];
    const a = new Arrivals(2000, new Schedule([]), new Prng(seed), (t) => times.push(t));
    a.start(0);
    for (let t = 1000; t <= 5e6; t += 1000) a.run(t);
    return times;
  };
  const one = run(3);
  assert.ok(Math.abs(one.length - 10_000) < 400, `${one.length} arrivals`);
  assert.deepEqual(run(3), one);
  assert.notDeepEqual(run(4), one);
  // Not evenly spaced: the gaps spread as an exponential's (its standard deviation is its mean).
  const gaps = one.slice(1).map((t, i) => t - one[i]);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / gaps.length);
  assert.ok(sd > mean * 0.8, `gap mean ${mean} sd ${sd}`);
});

test('WeightedPick and splitByWeight: shares by weight', () => {
  const p = new WeightedPick([3, 1]);
  const rng = new Prng(1);
  let first = 0;
  for (let i = 0; i < 100_000; i++) if (p.pick(rng.next()) === 0) first++;
  assert.ok(Math.abs(first / 100_000 - 0.75) < 0.01, `${first}`);
  assert.deepEqual(splitByWeight(10, [3, 1]), [8, 2]);
  assert.deepEqual(splitByWeight(7, [1, 1, 1]), [3, 2, 2]);
  assert.throws(() => new WeightedPick([1, 0]), /positive/);
});

function snap(us: number, o: Partial<LoadSnapshot>): LoadSnapshot {
  return {
    us, attempts: 0, connects: 0, connectFailures: 0, cancelled: 0, opening: 0, requests: 0, responses: 0, failedRequests: 0, inFlight: 0,
    failures: [], status: [0, 0, 0, 0, 0, 0], bodyBytes: 0, verifyOk: 0, verifyFailed: 0, arrivals: 0, dropped: 0, peakOpen: 0, ...o,
  };
}

test('RateWatch: a warning after 2 s below 95% of the target, with its reason', () => {
  const w = new RateWatch({ cps: 0, rps: 1000, stages: [] });
  let prev = snap(0, {});
  const step = (s: number, o: Partial<LoadSnapshot>): string | null => {
    const cur = snap(s * 1e6, o);
    const r = w.check(s, prev, cur);
    prev = cur;
    return r;
  };
  assert.equal(step(1, { requests: 1000 }), null);
  assert.equal(step(2, { requests: 1900, dropped: 50 }), null, 'one second short is not yet a warning');
  assert.match(step(3, { requests: 2800, dropped: 150 }) ?? '', /below 95% of the target for 2 s \(900 requests\/s of 1000\): the concurrency cap \(max_concurrent\): 100 arrivals dropped/);
  assert.equal(step(4, { requests: 3800, dropped: 150 }), null, 'back at the target');
  assert.equal(step(5, { requests: 4500, dropped: 150, inFlight: 300 }), null);
  assert.match(step(6, { requests: 5200, dropped: 150, inFlight: 600 }) ?? '', /: the server: 0 connections opening, 600 requests unanswered/);
  assert.match(step(7, { requests: 5900, dropped: 150, inFlight: 0 }) ?? '', /for 3 s .*: generator CPU/);
  // A ramp's target is the scale at the interval's middle.
  const ramp = new RateWatch({ cps: 1000, rps: 0, stages: [{ durationUs: 10e6, from: 0, to: 1 }] });
  assert.equal(ramp.check(1, snap(0, {}), snap(1e6, { attempts: 50 })), null);
});
