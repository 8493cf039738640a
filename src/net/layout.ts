/**
 * Frame layout of locally built packets: the Ethernet header at the slot's
 * `base`, IPv4 (20 bytes, no options) right after it, L4 after that. A VLAN
 * tag is added by moving the frame start 4 bytes into the headroom when the
 * Ethernet header is written, so these offsets hold for tagged flows too.
 */
import { ETH_HDR_LEN } from '../wire/ethernet.js';
import { IPV4_HDR_LEN } from '../wire/ipv4.js';

export const L3_OFF = ETH_HDR_LEN;
export const L4_OFF = ETH_HDR_LEN + IPV4_HDR_LEN;
/** Default TTL of datagrams we originate (Linux's ip_default_ttl). */
export const DEFAULT_TTL = 64;
