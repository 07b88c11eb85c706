import { Interval, normalise } from '../dialects/windows-complement';

/** A box (one interval set per dimension) with the label of every point in it. */
export interface LabelledBox {
  readonly box: Interval[][];
  readonly label: string;
}

/**
 * Partitions `universe` along every edge of the given boxes, one dimension after the other, and
 * labels each cell by `leaf(the boxes holding it)`; cells with an undefined label are dropped. Cells
 * whose remaining dimensions came out alike are merged into one interval set, so the result is a
 * short list of boxes, not the cells. Cells of one dimension held by the same boxes share one
 * recursion, which keeps this polynomial for policies of hundreds of rules.
 */
export function labelCells(boxes: readonly (readonly Interval[])[][], universe: readonly Interval[],
  leaf: (holding: readonly number[]) => string | undefined): LabelledBox[] {
  const leafMemo = new Map<string, string | undefined>();
  const all = boxes.map((_, i) => i);
  return sweep(boxes, all, universe, 0, (holding) => {
    const key = holding.join(',');
    if (!leafMemo.has(key)) leafMemo.set(key, leaf(holding));
    return leafMemo.get(key);
  });
}

function sweep(boxes: readonly (readonly Interval[])[][], active: readonly number[], universe: readonly Interval[], dim: number,
  leaf: (holding: readonly number[]) => string | undefined): LabelledBox[] {
  if (dim === universe.length) {
    const label = leaf(active);
    return label === undefined ? [] : [{ box: [], label }];
  }
  const u = universe[dim];
  const cutSet = new Set<bigint>([u.from, u.to + 1n]);
  for (const index of active) {
    for (const i of boxes[index][dim]) {
      if (i.to < u.from || i.from > u.to) continue;
      cutSet.add(i.from > u.from ? i.from : u.from);
      cutSet.add(i.to < u.to ? i.to + 1n : u.to + 1n);
    }
  }
  const cuts = [...cutSet].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const segments = cuts.length - 1;
  const holding: number[][] = Array.from({ length: segments }, () => []);
  for (const index of active) {
    for (const i of boxes[index][dim]) {
      for (let k = lowerBound(cuts, i.from); k < segments && cuts[k] <= i.to; k++) holding[k].push(index);
    }
  }
  const memo = new Map<string, LabelledBox[]>();
  const groups = new Map<string, { rest: LabelledBox; segments: Interval[] }>();
  for (let k = 0; k < segments; k++) {
    // boxes are visited in index order, so equal sets give equal keys
    const key = holding[k].join(',');
    let rest = memo.get(key);
    if (!rest) {
      rest = sweep(boxes, holding[k], universe, dim + 1, leaf);
      memo.set(key, rest);
    }
    const segment = { from: cuts[k], to: cuts[k + 1] - 1n };
    for (const r of rest) {
      const restKey = `${r.label}|${r.box.map((set) => set.map((i) => `${i.from}-${i.to}`).join(',')).join('|')}`;
      const group = groups.get(restKey);
      if (group) group.segments.push(segment);
      else groups.set(restKey, { rest: r, segments: [segment] });
    }
  }
  return [...groups.values()].map((g) => ({ box: [normalise(g.segments), ...g.rest.box], label: g.rest.label }));
}

function lowerBound(sorted: readonly bigint[], value: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1; // eslint-disable-line no-bitwise
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
