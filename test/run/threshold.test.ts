/**
 * Thresholds (issue 22 §6): the grammar (metrics, statistics, operators,
 * units), refusals coded VG_ERR_INVALID_THRESHOLD with the option or profile
 * pointer and the offending part, and their measure on a result: phase
 * percentiles from the HdrHistogram, rates and ratios from the client
 * summary, and which failures --abort-on-fail may stop on; --threshold on
 * the command line joins the profile's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidOptionError, InvalidThresholdError } from '../../src/common/errors.js';
import { parseRunOptions } from '../../src/mgmt/cli/stack_config.js';
import { checkProfile } from '../../src/run/profile_check.js';
import { failedForGood, parseThreshold } from '../../src/run/threshold.js';
import { evaluateThresholds, failedForGoodOn, type ResultView } from '../../src/run/threshold_eval.js';
import { Histogram } from '../../src/telemetry/histogram.js';
import type { PhaseStats } from '../../src/run/result_schema.js';
import { phaseStats } from '../../src/run/run_record.js';

test('thresholds parse to a metric, an operator and a limit in the base unit', () => {
  const cases: [string, string, string, number][] = [
    ['http.p99<5ms', 'response.p99', '<', 5000],
    ['response.p99.9 <= 1.5s', 'response.p99.9', '<=', 1.5e6],
    ['connect.p(95)<250us', 'connect.p95', '<', 250],
    ['ttfb.avg<2ms', 'ttfb.avg', '<', 2000],
    ['tls.max<1s', 'tls.max', '<', 1e6],
    ['http.count>=1000', 'response.count', '>=', 1000],
    ['errors<0.1%', 'errors', '<', 0.001],
    ['errors<=0.001', 'errors', '<=', 0.001],
    ['connect_errors==0', 'connect_errors', '==', 0],
    ['errors.count<10', 'errors.count', '<', 10],
    ['dropped<5%', 'dropped', '<', 0.05],
    ['rps>9000', 'rps', '>', 9000],
    ['cps > 1e3', 'cps', '>', 1000],
  ];
  for (const [text, metric, op, limit] of cases) {
    const t = parseThreshold(text, '--threshold');
    assert.equal(t.metric, metric, text);
    assert.equal(t.op, op, text);
    assert.ok(Math.abs(t.limit - limit) < 1e-12, `${text}: ${t.limit}`);
    assert.equal(t.expr, text.trim());
  }
});

test('a threshold that cannot be used is refused with its code, where it was given and the offending part', () => {
  const cases: [string, string][] = [
    ['http.p99', 'http.p99'],
    ['latency.p99<5ms', 'latency'],
    ['http<5ms', 'http'],
    ['http.p101<5ms', 'http.p101'],
    ['http.median<5ms', 'http.median'],
    ['http.p99<5', '5'],
    ['http.p99<5%', '5%'],
    ['http.p99<fast', 'fast'],
    ['errors<5ms', '5ms'],
    ['errors<150%', '150%'],
    ['errors.p99<1%', 'errors.p99'],
    ['rps>9000/s', '9000/s'],
    ['rps.p99>9000', 'rps.p99'],
    ['rps=>9000', 'rps=>9000'],
    ['http.count<1k', '1k'],
  ];
  for (const [text, part] of cases) {
    assert.throws(
      () => parseThreshold(text, '--threshold'),
      (e: unknown) => {
        assert.ok(e instanceof InvalidThresholdError, `${text}: ${String(e)}`);
        assert.equal(e.code, 'VG_ERR_INVALID_THRESHOLD', text);
        assert.equal(e.exitCode, 1);
        assert.equal(e.where, '--threshold');
        assert.equal(e.part, part, `${text}: ${e.message}`);
        assert.ok(e.message.startsWith('--threshold: '), e.message);
        return true;
      },
    );
  }
});

test("a profile's thresholds are checked with the profile, refused by their JSON pointer", () => {
  const profile = { flows: [{ name: 'f', dst_ip: '198.18.0.1', dst_port: 80 }], load: { duration_secs: 1 }, thresholds: ['http.p99<5ms', 'rps>lots'] };
  assert.throws(
    () => checkProfile(profile, '--config p.json'),
    (e: unknown) => e instanceof InvalidThresholdError && e.code === 'VG_ERR_INVALID_THRESHOLD' && e.where === '--config p.json: /thresholds/1' && e.part === 'lots',
  );
  assert.deepEqual(checkProfile({ ...profile, thresholds: ['http.p99<5ms'] }).thresholds, ['http.p99<5ms']);
});

/** A result whose response phase holds `values` (µs), with the client counts given. */
function result(values: number[], client: { seconds: number; requests: number; responses: number; failedRequests: number; attempted: number; ok: number; failed: number; arrivals?: number; dropped?: number }): ResultView {
  const h = new Histogram({ lowest: 1, highest: 60e6, digits: 3 });
  for (const v of values) h.record(v);
  return {
    phases: { response: phaseStats(h) as PhaseStats },
    app: { ...client, connections: { attempted: client.attempted, ok: client.ok, failed: client.failed } },
  };
}

test('thresholds are measured on a result: percentiles from the histogram, rates and ratios from the counts', () => {
  // 1..1000 µs: p95 is 950, p50 500.
  const r = result(Array.from({ length: 1000 }, (_, i) => i + 1), { seconds: 2, requests: 1010, responses: 1000, failedRequests: 10, attempted: 5, ok: 4, failed: 1, arrivals: 200, dropped: 3 });
  const list = ['http.p95<951us', 'http.p50>500us', 'http.max<=1ms', 'rps>=500', 'cps==2', 'errors<1%', 'connect_errors<=20%', 'errors.count==10', 'tls.p99<1s', 'dropped<2%', 'dropped.count<3'];
  const out = evaluateThresholds(list.map((s) => parseThreshold(s, '--threshold')), r);
  assert.deepEqual(out.map((x) => x.ok), [true, false, true, true, true, true, true, true, false, true, false]);
  assert.equal(out[9].value, 0.015);
  assert.equal(out[0].value, 950);
  assert.equal(out[1].value, 500);
  assert.equal(out[3].value, 500);
  assert.ok(Math.abs((out[5].value ?? -1) - 10 / 1010) < 1e-12);
  assert.equal(out[8].value, null, 'a phase the run did not have: no value, and the threshold fails');
  assert.deepEqual(Object.keys(out[0]), ['expr', 'metric', 'op', 'limit', 'value', 'ok']);
});

test('tcp:// counts connections, udp:// and icmp:// datagrams: sent, answered and lost as requests, responses and failures', () => {
  const list = ['cps==4', 'connect_errors==20%', 'connect_errors.count==2', 'rps>1', 'errors<5%'].map((s) => parseThreshold(s, '--threshold'));
  const tcp = evaluateThresholds(list, { phases: {}, app: { seconds: 2, attempts: 10, established: 8, failed: { refused: 1, timeout: 1, reset: 0, unreachable: 0 } } });
  assert.deepEqual(tcp.map((x) => x.value), [4, 0.2, 2, null, null]);
  const udp = evaluateThresholds(list, { phases: {}, app: { seconds: 2, sent: 100, received: 98, lost: 2 } });
  assert.deepEqual(udp.map((x) => x.value), [null, null, null, 49, 0.02]);
  assert.deepEqual(udp.map((x) => x.ok), [false, false, false, true, true]);
});

test('--abort-on-fail stops only on failures that cannot recover: counts and maxima past a ceiling, minima under a floor', () => {
  const p = (s: string) => parseThreshold(s, '--threshold');
  assert.equal(failedForGood(p('http.max<1ms'), 2000), true);
  assert.equal(failedForGood(p('errors.count<5'), 5), true);
  assert.equal(failedForGood(p('http.count==5'), 6), true);
  assert.equal(failedForGood(p('http.count==5'), 4), false, 'more responses may still come');
  assert.equal(failedForGood(p('http.min>10us'), 5), true);
  assert.equal(failedForGood(p('http.p99<1ms'), 2000), false, 'a percentile can come down again');
  assert.equal(failedForGood(p('errors<1%'), 0.5), false);
  assert.equal(failedForGood(p('rps>1000'), 10), false);
  const r = result([100, 5000], { seconds: 1, requests: 2, responses: 2, failedRequests: 0, attempted: 1, ok: 1, failed: 0 });
  assert.equal(failedForGoodOn([p('http.p50<1ms'), p('rps>100')], r), null);
  assert.equal(failedForGoodOn([p('http.p50<1ms'), p('http.max<1ms')], r)?.expr, 'http.max<1ms');
});

test("--threshold joins the profile's thresholds (so --save-config keeps them); it needs a client load, --abort-on-fail a threshold", () => {
  const base = { port: 'af_packet:iface=x', srcIp: ['198.18.0.10'], client: 'http://198.18.0.1/', duration: '1' };
  const p = parseRunOptions({ ...base, threshold: ['http.p99<5ms', 'rps>10'], abortOnFail: true });
  assert.deepEqual(p.thresholds.map((t) => t.metric), ['response.p99', 'rps']);
  assert.equal(p.abortOnFail, true);
  assert.ok(p.mode.kind === 'client');
  assert.deepEqual(p.mode.profile.thresholds, ['http.p99<5ms', 'rps>10']);
  const refused = (o: Record<string, unknown>, option: string): void => {
    assert.throws(() => parseRunOptions({ ...base, ...o }), (e: unknown) => e instanceof InvalidOptionError && e.option === option, option);
  };
  refused({ client: undefined, server: true, threshold: ['rps>1'] }, '--threshold');
  refused({ abortOnFail: true }, '--abort-on-fail');
  // tcp://, udp:// and icmp:// loads: their phases, and the rates and ratios they count.
  const tcp = parseRunOptions({ ...base, client: 'tcp://198.18.0.1:80', threshold: ['connect.p99<1ms', 'cps>1', 'connect_errors<1%'] });
  assert.deepEqual(tcp.thresholds.map((t) => t.metric), ['connect.p99', 'cps', 'connect_errors']);
  for (const [client, metric] of [['tcp://198.18.0.1:80', 'rps'], ['udp://198.18.0.1:7', 'cps'], ['icmp://198.18.0.1', 'connect_errors']]) {
    assert.throws(
      () => parseRunOptions({ ...base, client, threshold: [`${metric}>1`] }),
      (e: unknown) => e instanceof InvalidThresholdError && e.code === 'VG_ERR_INVALID_THRESHOLD' && e.part === metric,
      `${client} ${metric}`,
    );
  }
  assert.throws(() => parseRunOptions({ ...base, threshold: ['rps>1', 'rps'] }), (e: unknown) => e instanceof InvalidThresholdError && e.where === '--threshold' && e.part === 'rps');
});
