/**
 * Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport,
 * remoteip, remoteport, secretkey), where M is a timer ticking every 4 µs and
 * F a keyed pseudo-random function. F here is HalfSipHash-2-4 (32-bit words,
 * 64-bit key), so an off-path attacker cannot predict another tuple's ISN and
 * a reused tuple still starts above its previous incarnation. The same keyed
 * hash, with a key of its own, gives each connection its timestamp offset
 * (TcpLayer.tsVal, RFC 7323 §5.4).
 */
import { randomFillSync } from 'node:crypto';

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

export class IsnGenerator {
  private readonly k0: number;
  private readonly k1: number;
  private v0 = 0;
  private v1 = 0;
  private v2 = 0;
  private v3 = 0;

  /** `key` (two 32-bit words) fixes F for reproducible tests; by default it is random. */
  constructor(key?: Uint32Array) {
    const k = key ?? randomFillSync(new Uint32Array(2));
    this.k0 = k[0] | 0;
    this.k1 = k[1] | 0;
  }

  private round(): void {
    this.v0 = (this.v0 + this.v1) | 0;
    this.v1 = rotl(this.v1, 5) ^ this.v0;
    this.v0 = rotl(this.v0, 16);
    this.v2 = (this.v2 + this.v3) | 0;
    this.v3 = rotl(this.v3, 8) ^ this.v2;
    this.v0 = (this.v0 + this.v3) | 0;
    this.v3 = rotl(this.v3, 7) ^ this.v0;
    this.v2 = (this.v2 + this.v1) | 0;
    this.v1 = rotl(this.v1, 13) ^ this.v2;
    this.v2 = rotl(this.v2, 16);
  }

  private absorb(m: number): void {
    this.v3 ^= m;
    this.round();
    this.round();
    this.v0 ^= m;
  }

  /** The keyed hash F of a 4-tuple. */
  hash(localIp: number, localPort: number, remoteIp: number, remotePort: number): number {
    this.v0 = this.k0;
    this.v1 = this.k1;
    this.v2 = 0x6c796765 ^ this.k0;
    this.v3 = 0x74656462 ^ this.k1;
    this.absorb(localIp | 0);
    this.absorb(remoteIp | 0);
    this.absorb((localPort << 16) | remotePort);
    this.absorb(12 << 24);
    this.v2 ^= 0xff;
    this.round();
    this.round();
    this.round();
    this.round();
    return (this.v1 ^ this.v3) >>> 0;
  }

  /** ISN for a new connection on this tuple at time `nowUs`. */
  isn(localIp: number, localPort: number, remoteIp: number, remotePort: number, nowUs: number): number {
    const m = Math.floor(nowUs / 4) % 0x100000000;
    return (m + this.hash(localIp, localPort, remoteIp, remotePort)) >>> 0;
  }
}
