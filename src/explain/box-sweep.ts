import { Interval, compare, lowerBound, normalise } from '../dialects/windows-complement';

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
 * @param chains per box, the chain (policy) it belongs to, boxes of a chain in the order the chain
 * tries them; undefined for a box that is not a rule (it is never dropped)
 */
export function labelCells(boxes: readonly (readonly Interval[])[][], universe: readonly Interval[],
  leaf: (holding: readonly number[]) => string | undefined, chains: readonly (number | undefined)[] = []): LabelledBox[] {
  // spans[i][d]: box i holds the whole universe in dimensions d and after
  const spans = boxes.map((box) => {
    const from: boolean[] = new Array(universe.length + 1).fill(true);
    for (let d = universe.length - 1; d >= 0; d--) {
      from[d] = from[d + 1] && box[d].some((i) => i.from <= universe[d].from && i.to >= universe[d].to);
    }
    return from;
  });
  const context = { boxes, universe, leaf, chains, spans };
  return sweep(context, boxes.map((_, i) => i), 0);
}

interface Context {
  readonly boxes: readonly (readonly Interval[])[][];
  readonly universe: readonly Interval[];
  readonly leaf: (holding: readonly number[]) => string | undefined;
  readonly chains: readonly (number | undefined)[];
  readonly spans: boolean[][];
}

/**
 * Within a chain (one policy's rules, in the order its engine tries them: the first match decides),
 * a box that spans every remaining dimension matches every cell below: the boxes after it never
 * decide there, and are dropped.
 */
function prune(c: Context, active: readonly number[], dim: number): readonly number[] {
  if (c.chains.length === 0) return active;
  const decided = new Set<number>();
  let dropped = false;
  const kept = active.filter((index) => {
    const chain = c.chains[index];
    if (chain === undefined) return true;
    if (decided.has(chain)) {
      dropped = true;
      return false;
    }
    if (c.spans[index][dim]) decided.add(chain);
    return true;
  });
  return dropped ? kept : active;
}

function sweep(c: Context, all: readonly number[], dim: number): LabelledBox[] {
  const { boxes, universe, leaf } = c;
  if (dim === universe.length) {
    const label = leaf(all);
    return label === undefined ? [] : [{ box: [], label }];
  }
  const active = prune(c, all, dim);
  const u = universe[dim];
  // boxes spanning the whole dimension hold every cell of it: they cut nothing and are not scanned
  const spanning: number[] = [];
  const partial: number[] = [];
  for (const index of active) {
    const set = boxes[index][dim];
    if (set.some((i) => i.from <= u.from && i.to >= u.to)) spanning.push(index);
    else partial.push(index);
  }
  const cutSet = new Set<bigint>([u.from, u.to + 1n]);
  for (const index of partial) {
    for (const i of boxes[index][dim]) {
      if (i.to < u.from || i.from > u.to) continue;
      cutSet.add(i.from > u.from ? i.from : u.from);
      cutSet.add(i.to < u.to ? i.to + 1n : u.to + 1n);
    }
  }
  const cuts = [...cutSet].sort(compare);
  const segments = cuts.length - 1;
  const holding: number[][] = Array.from({ length: segments }, () => []);
  for (const index of partial) {
    for (const i of boxes[index][dim]) {
      for (let k = lowerBound(cuts, i.from); k < segments && cuts[k] <= i.to; k++) holding[k].push(index);
    }
  }
  const memo = new Map<string, LabelledBox[]>();
  const groups = new Map<string, { rest: LabelledBox; segments: Interval[] }>();
  for (let k = 0; k < segments; k++) {
    // partial boxes are visited in index order, so equal sets give equal keys
    const key = holding[k].join(',');
    let rest = memo.get(key);
    if (!rest) {
      const next = spanning.length === 0 ? holding[k] : merge(spanning, holding[k]);
      rest = sweep(c, next, dim + 1);
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

/** Two ascending index lists as one. */
function merge(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i] < b[j])) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return out;
}
