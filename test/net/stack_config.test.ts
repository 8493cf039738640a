import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunOptions } from '../../src/mgmt/cli/stack_config.js';
import { InvalidOptionError } from '../../src/common/errors.js';
import { ip } from './harness.js';

test('run options: ranges, subnets, VLAN, routes and gateway become the stack config', () => {
  const p = parseRunOptions({
    port: 'af_packet:iface=x',
    srcIp: ['198.18.0.10-198.18.0.20', '198.18.4.1/16,198.18.8.7@7'],
    vlan: '100',
    gateway: '198.18.0.1',
    route: ['198.18.2.0/24 via 198.18.0.2', '203.0.113.0/24'],
    mac: '02:00:00:00:00:05',
    duration: '2.5',
  });
  assert.deepEqual(p.addrs, [
    { lo: ip('198.18.0.10'), hi: ip('198.18.0.20'), prefixLen: 24, vlan: 100 },
    { lo: ip('198.18.4.1'), hi: ip('198.18.4.1'), prefixLen: 16, vlan: 100 },
    { lo: ip('198.18.8.7'), hi: ip('198.18.8.7'), prefixLen: 24, vlan: 7 },
  ]);
  assert.deepEqual(p.routes, [
    { prefix: 0, len: 0, gateway: ip('198.18.0.1') },
    { prefix: ip('198.18.2.0'), len: 24, gateway: ip('198.18.0.2') },
    { prefix: ip('203.0.113.0'), len: 24, gateway: 0 },
  ]);
  assert.equal(p.mac, 0x020000000005);
  assert.equal(p.durationS, 2.5);
  assert.equal(p.jsonPath, null);
});

test('run options: each bad value is an InvalidOptionError naming its option', () => {
  const base = { port: 'af_packet:iface=x', srcIp: ['198.18.0.10'] };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ port: undefined }, /^--port: required/],
    [{ srcIp: [] }, /^--src-ip: at least one/],
    [{ srcIp: ['198.18.0.300'] }, /^--src-ip: "198\.18\.0\.300" is not an address/],
    [{ srcIp: ['198.18.0.20-198.18.0.10'] }, /^--src-ip: .* ends before it starts/],
    [{ srcIp: ['198.18.0.10-198.18.1.10'] }, /^--src-ip: .* does not fit one \/24/],
    [{ srcIp: ['198.18.0.10/33'] }, /^--src-ip: .*"33" is not an integer in 1\.\.32/],
    [{ vlan: '4095' }, /^--vlan: .*not an integer in 0\.\.4094/],
    [{ srcIp: ['198.18.0.10@x'] }, /^--src-ip: "198\.18\.0\.10@x": "x" is not an integer in 0\.\.4094/],
    [{ gateway: 'router' }, /^--gateway: "router" is not an IPv4 address/],
    [{ route: ['198.18.2.0/24 to 198.18.0.1'] }, /^--route: .* is not "prefix\/len via gateway"/],
    [{ route: ['198.18.2.5/24 via 198.18.0.1'] }, /^--route: .*host bits set \(did you mean 198\.18\.2\.0\/24\?\)/],
    [{ mac: '01:00:5e:00:00:01' }, /^--mac: .*not a unicast/],
    [{ mac: 'zz' }, /^--mac: "zz" is not a MAC/],
    [{ duration: '-1' }, /^--duration: "-1" is not a positive number/],
  ];
  for (const [o, re] of cases) assert.throws(() => parseRunOptions({ ...base, ...o }), (e: Error) => e instanceof InvalidOptionError && re.test(e.message), JSON.stringify(o));
});
