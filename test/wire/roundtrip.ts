/**
 * emit(parse(frame)) for a whole frame: every header the wire layer knows is
 * parsed from the original and emitted into a zeroed copy (checksums
 * recomputed); bytes it does not own (payloads, IP options, UDP) are copied.
 * The result must equal the original byte for byte.
 */
import { newArpRepr, parseArp, emitArp, ARP_HDR_LEN, ARP_OP_REQUEST } from '../../src/wire/arp.js';
import { WireError, wireErrorName } from '../../src/wire/error.js';
import { emitEthernet, newEthernetRepr, parseEthernet, ETH_TYPE_ARP, ETH_TYPE_IPV4 } from '../../src/wire/ethernet.js';
import { emitIcmp, newIcmpRepr, parseIcmp, ICMP_DEST_UNREACH, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST } from '../../src/wire/icmp.js';
import { emitIpv4, newIpv4Repr, parseIpv4, IPV4_HDR_LEN, IPV4_PROTO_ICMP, IPV4_PROTO_TCP } from '../../src/wire/ipv4.js';
import {
  emitTcp,
  newTcpRepr,
  parseTcp,
  tcpChecksumOk,
  tcpFinishChecksum,
  TCP_ACK,
  TCP_FIN,
  TCP_HDR_LEN,
  TCP_RST,
  TCP_SYN,
} from '../../src/wire/tcp.js';
import { emitTcpOptions, newTcpOptionsRepr, parseTcpOptions } from '../../src/wire/tcp_options.js';

export interface RoundTrip {
  /** The re-emitted frame. */
  out: Uint8Array;
  /** What the frame was: 'arp-request', 'icmp-echo-request', 'tcp-syn-options', 'tcp-sack', ... */
  kinds: string[];
}

const eth = newEthernetRepr();
const arp = newArpRepr();
const ip = newIpv4Repr();
const icmp = newIcmpRepr();
const tcp = newTcpRepr();
const opts = newTcpOptionsRepr();

function must(code: number, what: string): void {
  if (code !== WireError.OK) throw new Error(`${what}: ${wireErrorName(code)}`);
}

export function roundTrip(frame: Uint8Array): RoundTrip {
  const len = frame.length;
  const a = new DataView(frame.buffer, frame.byteOffset, len);
  const outU8 = new Uint8Array(len);
  const b = new DataView(outU8.buffer);
  const kinds: string[] = [];
  const copy = (from: number, to: number): void => outU8.set(frame.subarray(from, to), from);

  must(parseEthernet(a, 0, len, eth), 'ethernet');
  const l3 = emitEthernet(eth, b, 0);
  if (eth.vlanId >= 0) kinds.push('vlan');
  let end: number;
  if (eth.ethertype === ETH_TYPE_ARP) {
    must(parseArp(a, l3, len - l3, arp), 'arp');
    if (emitArp(arp, b, l3) !== ARP_HDR_LEN) throw new Error('emitArp length');
    end = l3 + ARP_HDR_LEN;
    kinds.push(arp.op === ARP_OP_REQUEST ? 'arp-request' : 'arp-reply');
  } else if (eth.ethertype === ETH_TYPE_IPV4) {
    must(parseIpv4(a, l3, len - l3, ip), 'ipv4');
    const l4 = l3 + ip.ihl;
    const l4Len = ip.totalLen - ip.ihl;
    copy(l3 + IPV4_HDR_LEN, l4); // options are the caller's, in place before emit
    if (emitIpv4(ip, b, l3) !== ip.ihl) throw new Error('emitIpv4 length');
    end = l3 + ip.totalLen;
    if (ip.proto === IPV4_PROTO_ICMP) {
      must(parseIcmp(a, l4, l4Len, icmp), 'icmp');
      copy(icmp.payloadOff, icmp.payloadOff + icmp.payloadLen);
      emitIcmp(icmp, b, l4);
      kinds.push(
        icmp.type === ICMP_ECHO_REQUEST
          ? 'icmp-echo-request'
          : icmp.type === ICMP_ECHO_REPLY
            ? 'icmp-echo-reply'
            : icmp.type === ICMP_DEST_UNREACH
              ? 'icmp-unreachable'
              : `icmp-${icmp.type}`,
      );
    } else if (ip.proto === IPV4_PROTO_TCP) {
      must(parseTcp(a, l4, l4Len, tcp), 'tcp');
      if (!tcpChecksumOk(a, l4, l4Len, ip.src, ip.dst)) throw new Error('tcp: bad checksum');
      must(parseTcpOptions(a, tcp.optOff, tcp.optLen, opts), 'tcp options');
      const n = emitTcpOptions(opts, b, l4 + TCP_HDR_LEN);
      if (n !== tcp.optLen) throw new Error(`tcp options: emitted ${n} bytes, frame has ${tcp.optLen}`);
      copy(tcp.payloadOff, tcp.payloadOff + tcp.payloadLen);
      emitTcp(tcp, b, l4);
      tcpFinishChecksum(b, l4, l4Len, ip.src, ip.dst);
      kinds.push('tcp');
      if (tcp.flags & TCP_SYN) kinds.push(tcp.flags & TCP_ACK ? 'tcp-syn-ack' : 'tcp-syn');
      if (tcp.flags & TCP_SYN && opts.mss >= 0 && opts.wscale >= 0 && opts.sackPermitted && opts.hasTimestamps) {
        kinds.push('tcp-syn-options');
      }
      if (tcp.flags & TCP_FIN) kinds.push('tcp-fin');
      if (tcp.flags & TCP_RST) kinds.push('tcp-rst');
      if (tcp.payloadLen > 0 && opts.hasTimestamps) kinds.push('tcp-data-ts');
      if (opts.sackCount > 0) kinds.push('tcp-sack');
    } else {
      copy(l4, end);
      kinds.push(`ip-proto-${ip.proto}`);
    }
  } else {
    end = l3;
  }
  copy(end, len); // link padding, or an unknown payload
  return { out: outU8, kinds };
}
