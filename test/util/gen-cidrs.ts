/* eslint-disable no-bitwise */
/** `count` distinct /24 networks from 100.64.0.0/10 (shared address space), for large policies. */
export function distinctCidrs(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `100.${64 + (i >> 8)}.${i & 255}.0/24`);
}
