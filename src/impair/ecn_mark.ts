/**
 * CE marking (RFC 3168 §5): where the loss model would drop an IPv4 frame
 * whose ECN field says ECN-capable transport (ECT(0) or ECT(1)), a router
 * doing active queue management marks it Congestion Experienced instead,
 * as netem's `ecn` does. The header checksum is updated incrementally
 * (RFC 1624); frames that are not ECN-capable IPv4 are left to be dropped.
 */
import type { BufferPool } from '../core/buffer_pool.js';
import { checksumUpdate16 } from '../wire/checksum.js';
import { ETH_HDR_LEN, ETH_TYPE_IPV4, ETH_TYPE_OFF, ETH_TYPE_VLAN } from '../wire/ethernet.js';
import { VLAN_HDR_LEN } from '../wire/vlan.js';

const ECN_MASK = 3;
const ECN_CE = 3;
const IPV4_CSUM_OFF = 10;

/** Marks `slot`'s frame CE when it is ECN-capable IPv4 (untagged or one 802.1Q tag); returns whether it did. */
export function markCe(pool: BufferPool, slot: number): boolean {
  const u8 = pool.u8;
  const b = pool.base(slot);
  const len = pool.dataLen[slot];
  let l3 = ETH_HDR_LEN;
  let type = (u8[b + ETH_TYPE_OFF] << 8) | u8[b + ETH_TYPE_OFF + 1];
  if (type === ETH_TYPE_VLAN) {
    type = (u8[b + ETH_TYPE_OFF + VLAN_HDR_LEN] << 8) | u8[b + ETH_TYPE_OFF + VLAN_HDR_LEN + 1];
    l3 += VLAN_HDR_LEN;
  }
  if (type !== ETH_TYPE_IPV4 || len < l3 + 20 || u8[b + l3] >>> 4 !== 4) return false;
  const ip = b + l3;
  const tos = u8[ip + 1];
  const ecn = tos & ECN_MASK;
  if (ecn === 0 || ecn === ECN_CE) return ecn === ECN_CE;
  // The TOS byte is the low half of the header's first 16-bit word.
  const oldWord = (u8[ip] << 8) | tos;
  const newTos = tos | ECN_CE;
  const csum = (u8[ip + IPV4_CSUM_OFF] << 8) | u8[ip + IPV4_CSUM_OFF + 1];
  const next = checksumUpdate16(csum, oldWord, (u8[ip] << 8) | newTos);
  u8[ip + 1] = newTos;
  u8[ip + IPV4_CSUM_OFF] = next >>> 8;
  u8[ip + IPV4_CSUM_OFF + 1] = next & 0xff;
  return true;
}
