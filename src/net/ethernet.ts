/**
 * L2 framing of frames we originate. Packets are built with L3 at
 * `base + 14`; a tagged frame takes its 4 extra bytes from the headroom by
 * moving the frame start back (IEEE 802.1Q §9.3), so L3/L4 offsets never move.
 */
import type { BufferPool } from '../core/buffer_pool.js';
import { emitEthernet, type EthernetRepr } from '../wire/ethernet.js';
import { VLAN_HDR_LEN } from '../wire/vlan.js';

/**
 * Writes the Ethernet header (and 802.1Q tag when `vlan >= 0`) in front of the
 * L3 packet of `slot`, whose `dataLen` already counts 14 header bytes.
 * `scratch` is the caller's reused Repr.
 */
export function writeEthHeader(
  pool: BufferPool,
  slot: number,
  scratch: EthernetRepr,
  dst: number,
  src: number,
  ethertype: number,
  vlan: number,
): void {
  if (vlan >= 0) {
    pool.dataOff[slot] -= VLAN_HDR_LEN;
    pool.dataLen[slot] += VLAN_HDR_LEN;
  }
  scratch.dst = dst;
  scratch.src = src;
  scratch.ethertype = ethertype;
  scratch.vlanId = vlan;
  scratch.vlanPcp = 0;
  scratch.vlanDei = 0;
  emitEthernet(scratch, pool.dv, pool.base(slot));
}
