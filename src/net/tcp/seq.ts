/**
 * 32-bit sequence-space arithmetic (RFC 9293 §3.4): comparisons are taken
 * modulo 2^32 so that they stay right across wrap-around. Values are stored as
 * unsigned 32-bit numbers; every result is normalised with `>>> 0`.
 */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function seqLeq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
export function seqGeq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
export function seqMax(a: number, b: number): number {
  return seqLt(a, b) ? b : a;
}
