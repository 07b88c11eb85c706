// Finding the first repeated address or port in a list, in O(n log n) and O(n + 65,536): a
// policy may list 100,000 CIDRs, and comparing each with every earlier one took minutes.
import { Cidr } from './cidr';
import { PortRange } from './port-range';

/** The first entry (in list order) that overlaps an earlier one, and the first earlier one it overlaps. */
export interface FirstOverlap {
  readonly index: number;
  readonly clash: number;
}

/**
 * The smallest index `i` such that `cidrs[i]` overlaps some `cidrs[j]` with `j < i`, with the
 * smallest such `j`: exactly what scanning each entry against every earlier one would report.
 * Two CIDRs overlap only when one contains the other, so sorted by start (longest first) the list
 * forms a forest of containment, and an entry overlaps exactly its ancestors and its descendants.
 */
export function firstCidrOverlap(cidrs: readonly Cidr[]): FirstOverlap | undefined {
  const n = cidrs.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => compareNesting(cidrs[a], cidrs[b]) || a - b);
  const parent = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  for (const i of order) {
    const c = cidrs[i];
    while (stack.length > 0 && !contains(cidrs[stack[stack.length - 1]], c)) stack.pop();
    if (stack.length > 0) parent[i] = stack[stack.length - 1];
    stack.push(i);
  }
  // Smallest list index among each entry's strict ancestors (parents come first in `order`)...
  const ancestorMin = new Float64Array(n).fill(Infinity);
  for (const i of order) {
    const p = parent[i];
    if (p >= 0) ancestorMin[i] = Math.min(p, ancestorMin[p]);
  }
  // ...and among its strict descendants (children come later, so walk `order` backwards).
  const descendantMin = new Float64Array(n).fill(Infinity);
  for (let k = n - 1; k >= 0; k--) {
    const i = order[k];
    const p = parent[i];
    if (p >= 0) descendantMin[p] = Math.min(descendantMin[p], i, descendantMin[i]);
  }
  for (let i = 0; i < n; i++) {
    const clash = Math.min(ancestorMin[i], descendantMin[i]);
    if (clash < i) return { index: i, clash };
  }
  return undefined;
}

function compareNesting(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family < b.family ? -1 : 1;
  if (a.first !== b.first) return a.first < b.first ? -1 : 1;
  if (a.last !== b.last) return a.last > b.last ? -1 : 1;
  return 0;
}

function contains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

// Which list entry owns each port, valid only where stamp equals the current generation: one
// pair of buffers for every list, so checking a port list never allocates.
const owner = new Int32Array(65536);
const stamp = new Uint32Array(65536);
let generation = 0;

/**
 * The same as firstCidrOverlap for port ranges already checked to lie within 1-65535. Ranges need
 * not nest, so ports are marked with their owner: each port is marked at most once before the
 * first overlap, which bounds the work by the list length plus 65,536.
 */
export function firstPortOverlap(ranges: readonly PortRange[]): FirstOverlap | undefined {
  generation = generation === 0xffffffff ? 1 : generation + 1;
  if (generation === 1) stamp.fill(0);
  for (let i = 0; i < ranges.length; i++) {
    let clash = Infinity;
    for (let port = ranges[i].from; port <= ranges[i].to; port++) {
      if (stamp[port] === generation) clash = Math.min(clash, owner[port]);
    }
    if (clash < i) return { index: i, clash };
    for (let port = ranges[i].from; port <= ranges[i].to; port++) {
      stamp[port] = generation;
      owner[port] = i;
    }
  }
  return undefined;
}
