/**
 * The UDP services of `--listen udp:PORT:HANDLER`: echo (RFC 862: each
 * datagram sent back to its source) and discard (RFC 863: counted, dropped).
 */
import type { UdpHandler, UdpLayer } from '../net/udp.js';

export class UdpStats {
  datagramsIn = 0;
  datagramsOut = 0;
  bytesIn = 0;
  bytesOut = 0;
}

export class UdpService implements UdpHandler {
  readonly stats = new UdpStats();

  constructor(
    private readonly udp: UdpLayer,
    private readonly echo: boolean,
  ) {}

  onDatagram(u8: Uint8Array, off: number, len: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number): void {
    const s = this.stats;
    s.datagramsIn++;
    s.bytesIn += len;
    if (!this.echo) return;
    // RFC 862: the data back to where it came from, from the address and port it was sent to.
    if (this.udp.send(dstIp, dstPort, srcIp, srcPort, u8, off, len)) {
      s.datagramsOut++;
      s.bytesOut += len;
    }
  }

  onError(): void {}
}
