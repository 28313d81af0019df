/**
 * FNV-1a, 32-bit, over `b[0..len)`. Returned as a signed int32 so it stays a small integer (Smi)
 * when passed between functions: a uint32 above 2^31 would be boxed, i.e. allocated, per call.
 * Compare it with Int32Array words.
 */
export function fnv1a(b: Uint8Array, len: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) {
    h = Math.imul(h ^ b[i]!, 0x01000193);
  }
  return h | 0;
}
