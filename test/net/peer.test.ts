/**
 * The network layer against the Linux kernel, through the `vaigai` command on
 * real drivers, in namespaces this file creates and removes (prefix vgnet-).
 * The generator's addresses are never configured on the kernel interface it uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeDrivers } from '../../src/port/native.js';
import { NetnsLab, netTestSkipReason } from '../helpers/netns.js';
import { outputOf, pingReceived, VaigaiProc } from './vaigai_proc.js';

function skipReason(driver: string, tools: string[]): string | null {
  const r = netTestSkipReason(tools);
  if (r !== null) return r;
  return nativeDrivers().includes(driver) ? null : `native driver ${driver} is not built`;
}

/** Starts a ping in `ns`; resolves with the replies received. */
function ping(lab: NetnsLab, ns: string, dst: string, count: number): Promise<number> {
  return outputOf(lab.spawn(ns, 'ping', ['-n', '-q', '-c', String(count), '-i', '0.01', '-W', '2', dst])).then(pingReceived);
}

test('af_packet: ping and arping every owned address, resolve a kernel peer, drop malformed frames by reason', { timeout: 90_000 }, async (t) => {
  const skip = skipReason('af_packet', ['ping', 'arping', 'scapy', 'tshark']);
  if (skip !== null) return t.skip(skip);
  const lab = new NetnsLab('vgnet-');
  t.after(() => lab.cleanup());
  const gen = lab.addNs('gen');
  const peer = lab.addNs('peer');
  lab.addVeth({ name: 'vgnet-g', ns: gen }, { name: 'vgnet-p', ns: peer });
  lab.run(peer, 'ip', ['addr', 'add', '198.18.0.1/24', 'dev', 'vgnet-p']);
  lab.run(peer, 'ip', ['addr', 'add', '198.18.0.3/24', 'dev', 'vgnet-p']);
  const v = await VaigaiProc.start(lab, gen, ['--port', 'af_packet:iface=vgnet-g', '--src-ip', '198.18.0.10-198.18.0.20']);
  let stopped = false;
  t.after(async () => {
    if (!stopped) await v.stop().catch(() => undefined);
  });

  // The kernel's ping to three addresses of the range at once.
  const got = await Promise.all(['198.18.0.10', '198.18.0.15', '198.18.0.20'].map((d) => ping(lab, peer, d, 200)));
  assert.deepEqual(got, [200, 200, 200], v.out);

  const arp = lab.run(peer, 'arping', ['-c', '3', '-i', 'vgnet-p', '198.18.0.12']);
  assert.match(arp, /3 packets transmitted, 3 packets received/);

  // A UDP datagram from 198.18.0.3 (which never talked ARP) makes the stack send a
  // port unreachable back: it must resolve the kernel's MAC for .3 first.
  const cap = await lab.capture(peer, 'vgnet-p', 'icmp and icmp[0] == 3 and dst host 198.18.0.3', 1, 10);
  lab.scapy(peer, `sendp(Ether(dst='${v.mac}')/IP(src='198.18.0.3', dst='198.18.0.11')/UDP(sport=5555, dport=9)/b'hello', iface='vgnet-p')`);
  const unreach = await cap.frames();
  assert.equal(unreach.length, 1, `no port unreachable reached 198.18.0.3: ${v.out}`);
  const peerMac = lab.mac(peer, 'vgnet-p');
  assert.deepEqual([...unreach[0].subarray(0, 6)], [...peerMac], 'sent to the MAC ARP resolved');

  // Malformed frames while ping runs.
  const during = ping(lab, peer, '198.18.0.11', 100);
  lab.scapy(
    peer,
    `
e = Ether(dst='${v.mac}', src=get_if_hwaddr('vgnet-p'))
s, d = '198.18.0.1', '198.18.0.11'
arp = bytes(e/ARP(op=1, hwsrc=get_if_hwaddr('vgnet-p'), psrc=s, pdst='198.18.0.12'))
fr = []
for i in range(5):
    fr.append(e/IP(src=s, dst=d, chksum=0x1234)/ICMP())
    fr.append(e/IP(src=s, dst=d, len=1000)/ICMP())
    fr.append(e/IP(src=s, dst=d, ihl=15)/ICMP())
    fr.append(Raw(bytes(e/IP(src=s, dst=d)/ICMP()/(b'y'*40))[:14+12]))
    fr.append(e/IP(src=s, dst=d)/ICMP(chksum=0x4242)/(b'z'*8))
    fr.append(Raw(arp[:18] + bytes([8]) + arp[19:]))
    fr.append(Raw(arp[:14+20]))
sendp(fr, iface='vgnet-p', inter=0.002)
`,
  );
  assert.equal(await during, 100, 'ping kept working');
  const c = await v.stop();
  stopped = true;
  assert.ok(c.icmpTxEchoReplies >= 700, `echo replies ${c.icmpTxEchoReplies}`);
  assert.equal(c.arpTxGratuitous, 11, 'one announcement per owned address');
  assert.ok(c.arpTxRequests >= 1 && c.arpResolved >= 1, 'resolved the peer');
  assert.ok(c.icmpTxUnreach >= 1);
  for (const k of ['ipv4DropBadChecksum', 'ipv4DropBadTotalLen', 'ipv4DropBadHeaderLen', 'ipv4DropTruncated', 'icmpDropBadChecksum']) {
    assert.equal(c[k], 5, `${k} = ${c[k]}`);
  }
  assert.equal(c.arpDropMalformed, 10);
});

test('af_packet: a VLAN-tagged address answers tagged ping and ARP only on its VLAN (scapy peer, tshark check)', { timeout: 60_000 }, async (t) => {
  const skip = skipReason('af_packet', ['scapy', 'tshark']);
  if (skip !== null) return t.skip(skip);
  const lab = new NetnsLab('vgnet-');
  t.after(() => lab.cleanup());
  const gen = lab.addNs('gen');
  const peer = lab.addNs('peer');
  lab.addVeth({ name: 'vgnet-g', ns: gen }, { name: 'vgnet-p', ns: peer });
  const v = await VaigaiProc.start(lab, gen, ['--port', 'af_packet:iface=vgnet-g', '--src-ip', '198.18.0.30-198.18.0.31', '--vlan', '100']);
  let stopped = false;
  t.after(async () => {
    if (!stopped) await v.stop().catch(() => undefined);
  });
  const cap = await lab.capture(peer, 'vgnet-p', `vlan 100 and ether src ${v.mac} and (icmp or arp)`, 25, 15);
  const out = lab.scapy(
    peer,
    `
me = get_if_hwaddr('vgnet-p')
ans, _ = srp(Ether(dst='${v.mac}', src=me)/Dot1Q(vlan=100)/IP(src='198.18.0.1', dst='198.18.0.31')/ICMP(id=7, seq=(1, 20)), iface='vgnet-p', timeout=3)
arp, _ = srp(Ether(dst='ff:ff:ff:ff:ff:ff', src=me)/Dot1Q(vlan=100)/ARP(op=1, hwsrc=me, psrc='198.18.0.1', pdst='198.18.0.30'), iface='vgnet-p', timeout=2)
untagged, _ = srp(Ether(dst='${v.mac}', src=me)/IP(src='198.18.0.1', dst='198.18.0.31')/ICMP(id=8, seq=(1, 5)), iface='vgnet-p', timeout=1)
print('echo', len(ans), sum(1 for s, r in ans if r.haslayer(ICMP) and r[ICMP].type == 0))
print('arp', len(arp), sum(1 for s, r in arp if r.haslayer(ARP) and r[ARP].op == 2 and r[ARP].psrc == '198.18.0.30'))
print('untagged', len(untagged))
`,
  );
  const frames = await cap.frames();
  const c = await v.stop();
  stopped = true;
  assert.match(out, /echo 20 20/, out);
  assert.match(out, /arp 1 1/, out);
  assert.match(out, /untagged 0/, out);
  // On the wire (tshark): every reply carries TPID 0x8100 and VID 100.
  const tagged = frames.filter((f) => f[12] === 0x81 && f[13] === 0x00 && (((f[14] << 8) | f[15]) & 0xfff) === 100);
  assert.ok(tagged.length >= 21, `tagged frames on the wire: ${tagged.length} of ${frames.length}`);
  assert.equal(c.ethDropVlan, 5, 'untagged requests dropped at L2');
});

test('af_packet: traffic to a third namespace goes through the kernel router the LPM picks', { timeout: 60_000 }, async (t) => {
  const skip = skipReason('af_packet', ['ping', 'scapy']);
  if (skip !== null) return t.skip(skip);
  const lab = new NetnsLab('vgnet-');
  t.after(() => lab.cleanup());
  const gen = lab.addNs('gen');
  const rtr = lab.addNs('rtr');
  const far = lab.addNs('far');
  lab.addVeth({ name: 'vgnet-g', ns: gen }, { name: 'vgnet-r0', ns: rtr });
  lab.addVeth({ name: 'vgnet-r1', ns: rtr }, { name: 'vgnet-f', ns: far });
  lab.run(rtr, 'ip', ['addr', 'add', '198.18.1.1/24', 'dev', 'vgnet-r0']);
  lab.run(rtr, 'ip', ['addr', 'add', '198.18.2.1/24', 'dev', 'vgnet-r1']);
  lab.run(rtr, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  lab.run(far, 'ip', ['addr', 'add', '198.18.2.2/24', 'dev', 'vgnet-f']);
  lab.run(far, 'ip', ['route', 'add', 'default', 'via', '198.18.2.1']);
  // The default route points at a gateway that does not exist: only the /24 route works.
  const v = await VaigaiProc.start(lab, gen, [
    '--port', 'af_packet:iface=vgnet-g', '--src-ip', '198.18.1.10-198.18.1.12',
    '--gateway', '198.18.1.254', '--route', '198.18.2.0/24 via 198.18.1.1',
  ]);
  let stopped = false;
  t.after(async () => {
    if (!stopped) await v.stop().catch(() => undefined);
  });
  assert.equal(await ping(lab, far, '198.18.1.11', 200), 200, v.out);
  // Datagrams the stack originates (port unreachable for UDP) are routed by the LPM table.
  const out = lab.scapy(
    far,
    `
ans, _ = sr(IP(dst='198.18.1.10')/UDP(sport=4000, dport=(9, 28)), timeout=3, inter=0.01)
print('unreach', sum(1 for s, r in ans if r.haslayer(ICMP) and r[ICMP].type == 3 and r[ICMP].code == 3 and r[IP].src == '198.18.1.10'))
`,
  );
  const c = await v.stop();
  stopped = true;
  assert.match(out, /unreach 20/, `${out}\n${v.out}`);
  assert.equal(c.icmpTxUnreach, 20);
  assert.equal(c.arpResolveFailed, 0, 'never asked for the decoy default gateway');
  assert.equal(c.ipv4TxNoRoute, 0);
});

test('tap: ping and arping through the tap driver', { timeout: 60_000 }, async (t) => {
  const skip = skipReason('tap', ['ping', 'arping']);
  if (skip !== null) return t.skip(skip);
  const lab = new NetnsLab('vgnet-');
  t.after(() => lab.cleanup());
  const ns = lab.addNs('tap');
  const v = await VaigaiProc.start(lab, ns, ['--port', 'tap:name=vgnet-t0', '--src-ip', '198.18.0.10-198.18.0.12']);
  let stopped = false;
  t.after(async () => {
    if (!stopped) await v.stop().catch(() => undefined);
  });
  // The kernel side of the tap is the peer: it gets the peer's address.
  lab.run(ns, 'ip', ['addr', 'add', '198.18.0.1/24', 'dev', 'vgnet-t0']);
  const got = await Promise.all(['198.18.0.10', '198.18.0.11', '198.18.0.12'].map((d) => ping(lab, ns, d, 200)));
  assert.deepEqual(got, [200, 200, 200], v.out);
  assert.match(lab.run(ns, 'arping', ['-c', '3', '-i', 'vgnet-t0', '198.18.0.12']), /3 packets transmitted, 3 packets received/);
  const c = await v.stop();
  stopped = true;
  assert.ok(c.icmpTxEchoReplies >= 600);
});
