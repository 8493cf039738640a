/**
 * Two vaigAI hosts back to back in one thread: a NetStack and a TcpLayer on
 * each end of an in-memory ring pair, sharing one buffer pool (one worker, so
 * the ring hands slots over instead of copying). Neighbours are static, as on
 * a cable with no ARP to wait for. The demo, the HTTP benchmark and the
 * engine's tests run client and server on it.
 */
import type { Clock } from '../common/clock.js';
import { BufferPool } from '../core/buffer_pool.js';
import { ARP_STATIC } from '../net/arp_cache.js';
import { NetStack } from '../net/stack.js';
import type { TcpOptions } from '../net/tcp/api.js';
import { TcpLayer } from '../net/tcp/tcp_layer.js';
import type { PortQueue } from '../port/port.js';
import { createRingPair } from '../port/ring.js';
import { IPV4_PROTO_TCP } from '../wire/ipv4.js';
import { macFromBytes } from '../wire/mac.js';

const BURST = 64;

/** One host: the stack on a queue, and its TCP. */
export class RingHost {
  readonly stack: NetStack;
  readonly tcp: TcpLayer;
  private readonly rx = new Int32Array(BURST);
  private nextTickUs = 0;

  constructor(
    readonly queue: PortQueue,
    readonly clock: Clock,
    mac: number,
    ip: number,
    tcp: TcpOptions,
  ) {
    this.stack = new NetStack({ queue, clock, mac, addrs: [{ lo: ip, hi: ip, prefixLen: 24, vlan: -1 }], routes: [] });
    this.tcp = new TcpLayer(this.stack, tcp);
    this.stack.registerL4(IPV4_PROTO_TCP, this.tcp);
  }

  /** Takes in one burst, ticks timers each millisecond, transmits; returns frames received. */
  poll(nowUs: number): number {
    const n = this.queue.rxBurst(this.rx, BURST);
    if (n > 0) this.stack.input(this.rx, n, nowUs);
    if (nowUs >= this.nextTickUs) {
      this.stack.tick(nowUs);
      this.nextTickUs = nowUs + 1000;
    }
    this.stack.flush();
    return n;
  }
}

export interface RingPairOptions {
  clock: Clock;
  clientIp: number;
  serverIp: number;
  tcp: TcpOptions;
  /** Slots in the shared pool (each 2 KiB). */
  poolSlots?: number;
  /** Frames each ring direction holds. */
  ringCapacity?: number;
}

export class RingPair {
  readonly client: RingHost;
  readonly server: RingHost;
  readonly pool: BufferPool;
  private readonly clock: Clock;

  constructor(o: RingPairOptions) {
    this.clock = o.clock;
    const [pa, pb] = createRingPair({ capacity: o.ringCapacity ?? 8192, name: 'ring' });
    this.pool = new BufferPool(o.poolSlots ?? 65536);
    const ma = macFromBytes(pa.caps.mac);
    const mb = macFromBytes(pb.caps.mac);
    this.client = new RingHost(pa.openQueue(0, this.pool), o.clock, ma, o.clientIp, o.tcp);
    this.server = new RingHost(pb.openQueue(0, this.pool), o.clock, mb, o.serverIp, o.tcp);
    this.client.stack.arpCache.insert(o.serverIp, -1, mb, 0, ARP_STATIC);
    this.server.stack.arpCache.insert(o.clientIp, -1, ma, 0, ARP_STATIC);
  }

  /**
   * One poll of each end, each at a time read just before it (TCP's write()
   * reads the clock too, and its timestamps must not go backwards: see
   * test/front/engine.test.ts). Returns frames received by both.
   */
  poll(): number {
    return this.server.poll(this.clock.nowUs()) + this.client.poll(this.clock.nowUs());
  }

  close(): void {
    this.client.stack.close();
    this.server.stack.close();
    this.client.queue.close();
    this.server.queue.close();
  }
}
