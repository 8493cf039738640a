/**
 * Golden bytes from the Linux kernel: frames the kernel sent are parsed and
 * re-emitted, checksums recomputed, and must come out identical. Runs live in
 * network namespaces when root, and always on the fixtures captured that way
 * (VAIGAI_UPDATE_FIXTURES=1 rewrites them from a live capture).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/common/clock.js';
import { PcapWriter } from '../../src/port/pcap.js';
import { captureKernelTraffic, kernelCaptureUnavailable } from './kernel_capture.js';
import { FIXTURES, readPcap, type PcapRecord } from './pcap_reader.js';
import { roundTrip } from './roundtrip.js';

const ARP_ICMP_FIXTURE = new URL('kernel-arp-icmp.cap', FIXTURES);
const TCP_FIXTURE = new URL('kernel-tcp.cap', FIXTURES);

const ARP_ICMP_KINDS = ['arp-request', 'arp-reply', 'icmp-echo-request', 'icmp-echo-reply', 'icmp-unreachable'];
const TCP_KINDS = ['tcp-syn', 'tcp-syn-ack', 'tcp-syn-options', 'tcp-data-ts', 'tcp-sack', 'tcp-fin', 'tcp-rst'];

/** Round-trips every record; returns the kinds seen and, per distinct kind set, the first record. */
function checkRecords(records: PcapRecord[]): { kinds: Set<string>; firsts: Map<string, PcapRecord> } {
  const kinds = new Set<string>();
  const firsts = new Map<string, PcapRecord>();
  records.forEach((r, i) => {
    assert.equal(r.data.length, r.origLen, `record ${i} was cut by the snaplen`);
    const { out, kinds: k } = roundTrip(r.data);
    assert.deepEqual(out, r.data, `record ${i} (${k.join(',')}) differs after emit(parse())`);
    for (const x of k) kinds.add(x);
    const key = k.join(',');
    if (!firsts.has(key)) firsts.set(key, r);
  });
  return { kinds, firsts };
}

function assertKinds(seen: Set<string>, want: string[]): void {
  for (const k of want) assert.ok(seen.has(k), `no ${k} frame among ${[...seen].join(' ')}`);
}

function writeFixture(url: URL, records: PcapRecord[]): void {
  const clock = new ManualClock();
  const w = new PcapWriter(fileURLToPath(url), { clock });
  for (const r of records) {
    clock.set(r.sec * 1e6 + r.frac);
    w.stamp();
    w.writeFrame(r.data, 0, r.data.length);
  }
  w.close();
}

test('kernel frames captured live: emit(parse(frame)) reproduces every byte', async (t) => {
  const why = kernelCaptureUnavailable();
  if (why !== null) {
    t.skip(why);
    return;
  }
  const cap = await captureKernelTraffic();
  assert.ok(cap.records.length >= 30, `only ${cap.records.length} frames captured`);
  const { kinds, firsts } = checkRecords(cap.records);
  assertKinds(kinds, [...ARP_ICMP_KINDS, ...TCP_KINDS]);
  if (process.env.VAIGAI_UPDATE_FIXTURES === '1') {
    const picked = [...firsts.entries()];
    writeFixture(
      ARP_ICMP_FIXTURE,
      picked.filter(([k]) => !k.startsWith('tcp')).map(([, r]) => r),
    );
    writeFixture(
      TCP_FIXTURE,
      picked.filter(([k]) => k.startsWith('tcp')).map(([, r]) => r),
    );
  }
});

test('kernel frames from the fixtures: emit(parse(frame)) reproduces every byte', () => {
  const arpIcmp = readPcap(ARP_ICMP_FIXTURE);
  assertKinds(checkRecords(arpIcmp.records).kinds, ARP_ICMP_KINDS);
  const tcp = readPcap(TCP_FIXTURE);
  assertKinds(checkRecords(tcp.records).kinds, TCP_KINDS);
});
