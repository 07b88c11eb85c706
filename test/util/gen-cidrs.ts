/* eslint-disable no-bitwise */
/** `count` distinct /24 networks from 100.64.0.0/10 (shared address space), for large policies. */
export function distinctCidrs(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `100.${64 + (i >> 8)}.${i & 255}.0/24`);
}

/** Most /28s 100.64.0.0/10 holds with a gap after each (2^17): enough for 100,000-entry policies. */
export const MAX_DISTINCT_28S = 1 << 17;

/**
 * `count` distinct /28 networks from 100.64.0.0/10, in address order, none adjacent to the next
 * (a /28-sized gap after each), so no dialect can merge them into fewer, wider ranges.
 */
export function distinctCidrs28(count: number): string[] {
  if (!Number.isInteger(count) || count < 0 || count > MAX_DISTINCT_28S) throw new Error(`distinctCidrs28: count ${count} is not in 0..${MAX_DISTINCT_28S}`);
  return Array.from({ length: count }, (_, i) => {
    // 100.64.0.0 + 32 * i, within the /10's 22 host bits
    const offset = i << 5;
    return `100.${64 + (offset >>> 16)}.${(offset >>> 8) & 255}.${offset & 255}/28`;
  });
}
