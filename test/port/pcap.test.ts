/**
 * The pcap writer and tap: files readable by tshark, which must agree with the
 * Reprs on every field of a set of frames emitted by the wire layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/common/clock.js';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { PcapWriter, tapPort, tapQueue, PCAP_MAGIC_NS, PCAP_MAGIC_US } from '../../src/port/pcap.js';
import { createRingPair } from '../../src/port/ring.js';
import { emitArp, newArpRepr, ARP_OP_REPLY, ARP_OP_REQUEST, type ArpRepr } from '../../src/wire/arp.js';
import { emitEthernet, newEthernetRepr, ETH_TYPE_ARP, ETH_TYPE_IPV4, type EthernetRepr } from '../../src/wire/ethernet.js';
import { emitIcmp, newIcmpRepr, ICMP_DEST_UNREACH, ICMP_ECHO_REQUEST, ICMP_UNREACH_FRAG_NEEDED, type IcmpRepr } from '../../src/wire/icmp.js';
import { emitIpv4, newIpv4Repr, IPV4_PROTO_ICMP, IPV4_PROTO_TCP, IPV4_PROTO_UDP, type Ipv4Repr } from '../../src/wire/ipv4.js';
import { ipToString } from '../../src/wire/ipv4_addr.js';
import { BROADCAST_MAC, macToString } from '../../src/wire/mac.js';
import { emitTcp, newTcpRepr, tcpFinishChecksum, TCP_ACK, TCP_AE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, type TcpRepr } from '../../src/wire/tcp.js';
import { emitTcpOptions, newTcpOptionsRepr, type TcpOptionsRepr } from '../../src/wire/tcp_options.js';
import { readPcap } from '../wire/pcap_reader.js';

const MAC_A = 0x027667fa0001;
const MAC_B = 0x027667fa0002;
const IP_A = 0xc612fa01;
const IP_B = 0xc612fa02;
const T0_US = 1_700_000_000_123_456;

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'vgpcap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function slotWith(pool: BufferPool, bytes: number[]): number {
  const s = pool.alloc();
  pool.write(s, Uint8Array.from(bytes));
  return s;
}

test('pcap writer: global header, record headers, snaplen and both timestamp resolutions', (t) => {
  const dir = tmp(t);
  for (const nanos of [false, true]) {
    const clock = new ManualClock(T0_US);
    const path = join(dir, `w${nanos}.pcap`);
    const w = new PcapWriter(path, { nanos, snaplen: 4, clock });
    const src = Uint8Array.of(9, 1, 2, 3, 4, 5, 6);
    w.stamp();
    w.writeFrame(src, 1, 6);
    clock.advance(1_000_001);
    w.stamp();
    w.writeFrame(src, 0, 2);
    w.close();
    w.close(); // idempotent
    const raw = readFileSync(path);
    assert.equal(raw.readUInt32LE(0), nanos ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
    assert.deepEqual([raw.readUInt16LE(4), raw.readUInt16LE(6), raw.readUInt32LE(16), raw.readUInt32LE(20)], [2, 4, 4, 1]);
    const f = readPcap(path);
    assert.equal(f.nanos, nanos);
    assert.equal(f.records.length, 2);
    const k = nanos ? 1000 : 1;
    assert.deepEqual(f.records[0], { sec: 1_700_000_000, frac: 123_456 * k, origLen: 6, data: Uint8Array.of(1, 2, 3, 4) });
    assert.deepEqual(f.records[1], { sec: 1_700_000_001, frac: 123_457 * k, origLen: 2, data: Uint8Array.of(9, 1) });
    assert.equal(w.frames, 2);
  }
});

test('pcap writer: wall-clock stamps are now (within a second: the wall clock may be slewed)', (t) => {
  const path = join(tmp(t), 'wall.pcap');
  const w = new PcapWriter(path, { nanos: true });
  const before = Date.now();
  w.stamp();
  w.writeFrame(Uint8Array.of(1), 0, 1);
  const after = Date.now();
  w.close();
  const r = readPcap(path).records[0];
  const ms = r.sec * 1000 + r.frac / 1e6;
  assert.ok(ms >= before - 1000 && ms <= after + 1000, `${ms} not within a second of [${before}, ${after}]`);
  assert.ok(r.frac < 1e9);
});

test('pcap tap: records what a queue receives and what its port accepts, not what it refuses', (t) => {
  const path = join(tmp(t), 'tap.pcap');
  const clock = new ManualClock(T0_US);
  const w = new PcapWriter(path, { clock, bufferSize: 4096 });
  const [a, b] = createRingPair({ capacity: 2 });
  const pool = new BufferPool(64);
  const qa = tapPort(a, w).openQueue(0, pool);
  const qb = tapQueue(b.openQueue(0, pool), w);
  assert.equal(qa.queueId, 0);
  assert.equal(qa.pool, pool);
  const tx = new Int32Array(4);
  for (let i = 0; i < 4; i++) tx[i] = slotWith(pool, [0xa0 + i, i]);
  assert.equal(qa.txBurst(tx, 4), 2, 'the ring takes two');
  pool.free(tx[2]);
  pool.free(tx[3]);
  assert.equal(w.frames, 2);
  clock.advance(5);
  const rx = new Int32Array(4);
  assert.equal(qb.rxBurst(rx, 4), 2);
  assert.equal(qb.rxBurst(rx, 4), 0);
  // Larger than the buffer: the writer grows rather than losing the burst.
  const big = new Int32Array(2);
  for (let i = 0; i < 2; i++) big[i] = slotWith(pool, new Array(1500).fill(i));
  assert.equal(qa.txBurst(big, 2), 2);
  qa.close();
  w.close();
  const recs = readPcap(path).records;
  assert.deepEqual(
    recs.map((r) => [r.frac, r.data.length, r.data[0]]),
    [
      [123_456, 2, 0xa0],
      [123_456, 2, 0xa1],
      [123_461, 2, 0xa0],
      [123_461, 2, 0xa1],
      [123_461, 1500, 0],
      [123_461, 1500, 1],
    ],
  );
  assert.equal(qa.stats().txFrames, 4);
});

/** One frame of the tshark set: how to emit it and what tshark must report. */
interface Case {
  name: string;
  emit(dv: DataView, u8: Uint8Array, off: number): number;
  fields: Record<string, string>;
}

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;
const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

function ethFields(e: EthernetRepr): Record<string, string> {
  const f: Record<string, string> = { 'eth.dst': macToString(e.dst), 'eth.src': macToString(e.src) };
  if (e.vlanId >= 0) {
    Object.assign(f, { 'eth.type': '0x8100', 'vlan.id': `${e.vlanId}`, 'vlan.priority': `${e.vlanPcp}`, 'vlan.dei': `${e.vlanDei}`, 'vlan.etype': hex4(e.ethertype) });
  } else {
    f['eth.type'] = hex4(e.ethertype);
  }
  return f;
}

function arpCase(name: string, a: ArpRepr): Case {
  const e = { ...newEthernetRepr(), dst: a.op === ARP_OP_REQUEST ? BROADCAST_MAC : a.tha, src: a.sha, ethertype: ETH_TYPE_ARP };
  return {
    name,
    emit: (dv, _u8, off) => {
      const l3 = off + emitEthernet(e, dv, off);
      return l3 + emitArp(a, dv, l3) - off;
    },
    fields: {
      ...ethFields(e),
      'arp.opcode': `${a.op}`,
      'arp.src.hw_mac': macToString(a.sha),
      'arp.src.proto_ipv4': ipToString(a.spa),
      'arp.dst.hw_mac': macToString(a.tha),
      'arp.dst.proto_ipv4': ipToString(a.tpa),
    },
  };
}

/** Emits IPv4 (options bytes, then header) around an L4 writer that returns its length. */
function ipCase(name: string, e: EthernetRepr, ip: Ipv4Repr, ipOpts: number[], l4: (dv: DataView, u8: Uint8Array, off: number) => number, fields: Record<string, string>): Case {
  let checksum = 0;
  const c: Case = {
    name,
    emit: (dv, u8, off) => {
      const l3 = off + emitEthernet(e, dv, off);
      u8.set(ipOpts, l3 + 20);
      const l4Len = l4(dv, u8, l3 + ip.ihl);
      ip.totalLen = ip.ihl + l4Len;
      emitIpv4(ip, dv, l3);
      checksum = dv.getUint16(l3 + 10);
      c.fields['ip.len'] = `${ip.totalLen}`;
      c.fields['ip.checksum'] = hex4(checksum);
      return l3 - off + ip.totalLen;
    },
    fields: {
      ...ethFields(e),
      'ip.version': '4',
      'ip.hdr_len': `${ip.ihl}`,
      'ip.dsfield': hex2(ip.tos),
      'ip.id': hex4(ip.ident),
      'ip.flags.df': ip.df ? '1' : '0',
      'ip.flags.mf': ip.mf ? '1' : '0',
      'ip.frag_offset': `${ip.fragOff / 8}`, // tshark 4.0 gives the field in 8-byte units
      'ip.ttl': `${ip.ttl}`,
      'ip.proto': `${ip.proto}`,
      'ip.checksum.status': '1',
      'ip.src': ipToString(ip.src),
      'ip.dst': ipToString(ip.dst),
      ...fields,
    },
  };
  return c;
}

function tcpCase(name: string, e: EthernetRepr, ip: Ipv4Repr, ipOpts: number[], tcp: TcpRepr, o: TcpOptionsRepr, payloadLen: number): Case {
  const fields: Record<string, string> = {
    'tcp.srcport': `${tcp.srcPort}`,
    'tcp.dstport': `${tcp.dstPort}`,
    'tcp.seq_raw': `${tcp.seq}`,
    'tcp.ack_raw': `${tcp.ack}`,
    'tcp.flags': hex4(tcp.flags),
    'tcp.window_size_value': `${tcp.window}`,
    'tcp.urgent_pointer': `${tcp.urgent}`,
    'tcp.checksum.status': '1',
    'tcp.len': `${payloadLen}`,
    'tcp.options.mss_val': o.mss >= 0 ? `${o.mss}` : '',
    'tcp.options.wscale.shift': o.wscale >= 0 ? `${o.wscale}` : '',
    'tcp.options.sack_perm': o.sackPermitted ? '0402' : '',
    'tcp.options.timestamp.tsval': o.hasTimestamps ? `${o.tsVal}` : '',
    'tcp.options.timestamp.tsecr': o.hasTimestamps ? `${o.tsEcr}` : '',
    'tcp.options.sack_le': [...o.sackBlocks.subarray(0, 2 * o.sackCount)].filter((_, i) => i % 2 === 0).join(','),
    'tcp.options.sack_re': [...o.sackBlocks.subarray(0, 2 * o.sackCount)].filter((_, i) => i % 2 === 1).join(','),
  };
  const c = ipCase(
    name,
    e,
    ip,
    ipOpts,
    (dv, u8, l4) => {
      const optLen = emitTcpOptions(o, dv, l4 + 20);
      tcp.dataOff = 20 + optLen;
      emitTcp(tcp, dv, l4);
      for (let i = 0; i < payloadLen; i++) u8[l4 + tcp.dataOff + i] = i & 0xff;
      const len = tcp.dataOff + payloadLen;
      c.fields['tcp.hdr_len'] = `${tcp.dataOff}`;
      c.fields['tcp.checksum'] = hex4(tcpFinishChecksum(dv, l4, len, ip.src, ip.dst));
      return len;
    },
    fields,
  );
  return c;
}

function icmpCase(name: string, e: EthernetRepr, ip: Ipv4Repr, icmp: IcmpRepr, payload: number[]): Case {
  const c = ipCase(
    name,
    e,
    ip,
    [],
    (dv, u8, l4) => {
      u8.set(payload, l4 + 8);
      icmp.payloadLen = payload.length;
      emitIcmp(icmp, dv, l4);
      c.fields['icmp.checksum'] = hex4(dv.getUint16(l4 + 2));
      return 8 + payload.length;
    },
    {
      'icmp.type': `${icmp.type}`,
      'icmp.code': `${icmp.code}`,
      'icmp.checksum.status': '1',
      ...(icmp.type === ICMP_ECHO_REQUEST ? { 'icmp.ident': `${icmp.ident}`, 'icmp.seq': `${icmp.seq}` } : { 'icmp.mtu': `${icmp.seq}` }),
    },
  );
  return c;
}

function cases(): Case[] {
  const ethAB = { ...newEthernetRepr(), dst: MAC_B, src: MAC_A, ethertype: ETH_TYPE_IPV4 };
  const ethBA = { ...ethAB, dst: MAC_A, src: MAC_B };
  const tagged = { ...ethAB, vlanId: 42, vlanPcp: 5, vlanDei: 1 };
  const ip = (over: Partial<Ipv4Repr>): Ipv4Repr => ({ ...newIpv4Repr(), ttl: 64, df: true, src: IP_A, dst: IP_B, ident: 0x1234, ...over });
  const syn = newTcpOptionsRepr();
  Object.assign(syn, { mss: 1460, wscale: 7, sackPermitted: true, hasTimestamps: true, tsVal: 0xdeadbeef, tsEcr: 0 });
  const data = newTcpOptionsRepr();
  Object.assign(data, { hasTimestamps: true, tsVal: 1000, tsEcr: 0xfffffff0, sackCount: 2 });
  data.sackBlocks.set([0x10000000, 0x10000100, 0xfffffe00, 0x00000100]);
  const noOpts = newTcpOptionsRepr();
  const tcp = (over: Partial<TcpRepr>): TcpRepr => ({ ...newTcpRepr(), srcPort: 40001, dstPort: 80, window: 65535, ...over });
  // The quoted datagram of the unreachable: an IPv4 + TCP header start.
  const quote = [0x45, 0, 0, 0x3c, 0x12, 0x34, 0x40, 0, 0x40, 6, 0, 0, 0xc6, 0x12, 0xfa, 1, 0xc6, 0x12, 0xfa, 2, 0x9c, 0x41, 0, 0x50, 0, 0, 0, 1];
  return [
    arpCase('arp request', { ...newArpRepr(), op: ARP_OP_REQUEST, sha: MAC_A, spa: IP_A, tha: 0, tpa: IP_B }),
    arpCase('arp reply', { ...newArpRepr(), op: ARP_OP_REPLY, sha: MAC_B, spa: IP_B, tha: MAC_A, tpa: IP_A }),
    icmpCase('tagged echo request', tagged, ip({ proto: IPV4_PROTO_ICMP, tos: 0x10 }), { ...newIcmpRepr(), type: ICMP_ECHO_REQUEST, ident: 0x4242, seq: 7 }, [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    icmpCase('frag-needed unreachable', ethBA, ip({ proto: IPV4_PROTO_ICMP, src: IP_B, dst: IP_A, tos: 0xc0, df: false }), { ...newIcmpRepr(), type: ICMP_DEST_UNREACH, code: ICMP_UNREACH_FRAG_NEEDED, seq: 1400 }, quote),
    tcpCase('syn with options', ethAB, ip({ proto: IPV4_PROTO_TCP }), [], tcp({ seq: 0x80000001, flags: TCP_SYN, window: 64240 }), syn, 0),
    tcpCase('data with timestamps and sack', ethBA, ip({ proto: IPV4_PROTO_TCP, src: IP_B, dst: IP_A, ident: 0 }), [], tcp({ srcPort: 80, dstPort: 40001, seq: 0xffffff00, ack: 0x80000002, flags: TCP_PSH | TCP_ACK, window: 501 }), data, 100),
    tcpCase('urgent fin with AE over ip options', ethAB, ip({ proto: IPV4_PROTO_TCP, ihl: 24, ttl: 1 }), [0x94, 0x04, 0, 0], tcp({ seq: 5, ack: 6, flags: TCP_FIN | TCP_ACK | TCP_URG | TCP_AE, urgent: 3 }), noOpts, 4),
    tcpCase('rst', ethBA, ip({ proto: IPV4_PROTO_TCP, src: IP_B, dst: IP_A, df: false, ident: 0 }), [], tcp({ srcPort: 80, dstPort: 40001, seq: 0, ack: 1, flags: TCP_RST | TCP_ACK, window: 0 }), noOpts, 0),
    ipCase('udp fragment', ethAB, ip({ proto: IPV4_PROTO_UDP, df: false, mf: true, fragOff: 1480 }), [], (_dv, u8, l4) => {
      u8.fill(0x55, l4, l4 + 16);
      return 16;
    }, {}),
  ];
}

function tsharkMissing(): string | null {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'tshark is not installed (scripts/install-deps.sh installs it)';
  }
}

test('tshark reads the tapped pcap and agrees on every field of the emitted frames', (t) => {
  const why = tsharkMissing();
  if (why !== null) {
    t.skip(why);
    return;
  }
  const dir = tmp(t);
  const list = cases();
  for (const nanos of [false, true]) {
    const path = join(dir, `set-${nanos}.pcap`);
    const clock = new ManualClock(T0_US);
    const w = new PcapWriter(path, { nanos, clock });
    const [a, b] = createRingPair({ capacity: 64 });
    const pool = new BufferPool(64);
    const q = tapPort(a, w).openQueue(0, pool);
    const peer = b.openQueue(0, pool);
    const tx = new Int32Array(list.length);
    list.forEach((c, i) => {
      const s = pool.alloc();
      pool.dataLen[s] = c.emit(pool.dv, pool.u8, pool.base(s));
      tx[i] = s;
    });
    assert.equal(q.txBurst(tx, list.length), list.length);
    const rx = new Int32Array(list.length);
    const n = peer.rxBurst(rx, list.length);
    for (let i = 0; i < n; i++) pool.free(rx[i]);
    w.close();

    const names = [...new Set(['frame.time_epoch', 'frame.len', ...list.flatMap((c) => Object.keys(c.fields))])];
    const args = ['-r', path, '-o', 'tcp.relative_sequence_numbers:FALSE', '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.analyze_sequence_numbers:FALSE'];
    args.push('-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,');
    for (const f of names) args.push('-e', f);
    const rows = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd().split('\n');
    assert.equal(rows.length, list.length, 'one row per frame');
    rows.forEach((row, i) => {
      const got = row.split('\t');
      const value = (f: string): string => got[names.indexOf(f)];
      const c = list[i];
      assert.equal(value('frame.time_epoch'), '1700000000.123456000', `${c.name}: time`);
      assert.equal(value('frame.len'), `${pool.dataLen[tx[i]]}`, `${c.name}: length`);
      for (const [f, want] of Object.entries(c.fields)) {
        // The unreachable's quoted header repeats ip.* fields: the outer one comes first.
        const have = f.startsWith('tcp.options.sack_') ? value(f) : value(f).split(',')[0];
        assert.equal(have, want, `${c.name}: ${f}`);
      }
    });
  }
});
