/**
 * Interval maths for Windows Firewall, where Block beats Allow and rules have no order: "deny
 * except these exemptions" can only be written as Block rules over the exact complement of the
 * exemptions. Pure functions of data, over bigints so that IPv6 addresses and ports share one type.
 */

/** An inclusive interval of integers: addresses of one family, or ports. */
export interface Interval {
  readonly from: bigint;
  readonly to: bigint;
}

/**
 * A product of interval sets, one set per dimension (say remote address × local port): every point
 * whose coordinate in each dimension lies in that dimension's set. An empty set makes the box empty.
 */
export type Box = readonly (readonly Interval[])[];

/** Sorted, disjoint and non-adjacent: `[1-3, 4-6]` becomes `[1-6]`. Drops inverted intervals. */
export function normalise(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => i.from <= i.to).sort((a, b) => compare(a.from, b.from));
  const merged: Interval[] = [];
  for (const next of sorted) {
    const last = merged[merged.length - 1];
    if (last && next.from <= last.to + 1n) {
      if (next.to > last.to) merged[merged.length - 1] = { from: last.from, to: next.to };
    } else {
      merged.push(next);
    }
  }
  return merged;
}

/** The part of `universe` that no interval covers, normalised. */
export function subtract(universe: Interval, intervals: readonly Interval[]): Interval[] {
  const gaps: Interval[] = [];
  let next = universe.from;
  for (const i of normalise(intervals)) {
    if (i.to < next) continue;
    if (i.from > universe.to) break;
    if (i.from > next) gaps.push({ from: next, to: i.from - 1n });
    next = i.to + 1n;
  }
  if (next <= universe.to) gaps.push({ from: next, to: universe.to });
  return gaps;
}

/** Whether a point lies in the box. */
export function boxContains(box: Box, point: readonly bigint[]): boolean {
  return box.every((set, d) => set.some((i) => i.from <= point[d] && point[d] <= i.to));
}

/**
 * The exact complement, within `universe` (one interval per dimension), of the union of `boxes`,
 * as a small list of boxes. Dimensions are swept in `order`: the first is cut at every box edge,
 * each cut gets the complement of the boxes over it in the remaining dimensions (recursively), and
 * cuts whose sub-complements share a box are merged into one interval set. So 1,000 exempted
 * addresses that all exempt port 53 give two boxes: (the gaps between them × every port) and
 * (the addresses themselves × every port but 53).
 * @param order dimensions in sweep order (a permutation of 0..n-1); boxes come back in the caller's order
 */
export function complementOfUnion(boxes: readonly Box[], universe: readonly Interval[], order?: readonly number[]): Box[] {
  const perm = order ?? universe.map((_, d) => d);
  if (perm.length !== universe.length || [...perm].sort((a, b) => a - b).some((d, i) => d !== i)) {
    throw new Error(`internal: sweep order ${JSON.stringify(perm)} is not a permutation of ${universe.length} dimensions`);
  }
  const clipped = boxes
    .map((box) => perm.map((d) => clip(box[d], universe[d])))
    .filter((box) => box.every((set) => set.length > 0));
  const swept = sweep(clipped, perm.map((d) => universe[d]), 0);
  return swept.map((box) => universe.map((_, d) => box[perm.indexOf(d)]));
}

/**
 * The smallest of the complements found by sweeping in each of `orders` (the first wins ties).
 * Which order is best depends on the data: addresses first when exemptions share few port sets,
 * ports first when they share few address sets.
 */
export function smallestComplement(boxes: readonly Box[], universe: readonly Interval[], orders: readonly (readonly number[])[]): Box[] {
  let best: Box[] | undefined;
  for (const order of orders) {
    const candidate = complementOfUnion(boxes, universe, order);
    if (!best || size(candidate) < size(best)) best = candidate;
  }
  if (!best) throw new Error('internal: no sweep order given');
  return best;
}

/** Boxes first, then list entries: what a Windows rule set costs. */
function size(boxes: Box[]): number {
  return boxes.length * 1e9 + boxes.reduce((n, box) => n + box.reduce((m, set) => m + set.length, 0), 0);
}

function clip(set: readonly Interval[], universe: Interval): Interval[] {
  return normalise(set.map((i) => ({ from: max(i.from, universe.from), to: min(i.to, universe.to) })));
}

function sweep(boxes: readonly Box[], universe: readonly Interval[], dim: number): Box[] {
  if (dim === universe.length) return boxes.length > 0 ? [] : [[]];
  if (boxes.length === 0) return [universe.slice(dim).map((u) => [u])];
  const u = universe[dim];
  const cutSet = new Set<bigint>([u.from, u.to + 1n]);
  for (const box of boxes) {
    for (const i of box[dim]) {
      cutSet.add(i.from);
      cutSet.add(i.to + 1n);
    }
  }
  const cuts = [...cutSet].sort(compare);
  const segments = cuts.length - 1;
  // which boxes cover each segment between two cuts (a box never covers part of a segment)
  const active: number[][] = Array.from({ length: segments }, () => []);
  boxes.forEach((box, index) => {
    for (const i of box[dim]) {
      for (let k = lowerBound(cuts, i.from); k < segments && cuts[k] <= i.to; k++) active[k].push(index);
    }
  });
  // per distinct set of covering boxes: the complement over the remaining dimensions, with each
  // box's key computed once (a 100,000-address list has 200,000 segments and few distinct sets)
  const memo = new Map<string, { rest: Box[]; keys: string[] }>();
  const groups = new Map<string, { rest: Box; segments: Interval[] }>();
  for (let k = 0; k < segments; k++) {
    const key = active[k].join(',');
    let sub = memo.get(key);
    if (!sub) {
      const rest = sweep(active[k].map((index) => boxes[index]), universe, dim + 1);
      sub = { rest, keys: rest.map((box) => box.map((set) => set.map((i) => `${i.from}-${i.to}`).join(',')).join('|')) };
      memo.set(key, sub);
    }
    const segment = { from: cuts[k], to: cuts[k + 1] - 1n };
    for (const [b, box] of sub.rest.entries()) {
      const boxKey = sub.keys[b];
      const group = groups.get(boxKey);
      if (group) group.segments.push(segment);
      else groups.set(boxKey, { rest: box, segments: [segment] });
    }
  }
  return [...groups.values()].map((g) => [normalise(g.segments), ...g.rest]);
}

/** Index of the first element of `sorted` not below `value` (binary search). */
export function lowerBound(sorted: readonly bigint[], value: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1; // eslint-disable-line no-bitwise
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Ascending order of bigints, for sort(). */
export function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
