/* eslint-disable no-bitwise */ // building addresses is bit arithmetic
import * as fc from 'fast-check';
import { Cidr, mustParseCidr } from '../../src/policy/cidr';
import { firstCidrOverlap, firstPortOverlap } from '../../src/policy/overlap';
import { PortRange } from '../../src/policy/port-range';

// The quadratic scan the fast versions replace: each entry against every earlier one, in order.
function naive<T>(list: readonly T[], overlap: (a: T, b: T) => boolean) {
  for (let i = 0; i < list.length; i++) {
    for (let j = 0; j < i; j++) if (overlap(list[j], list[i])) return { index: i, clash: j };
  }
  return undefined;
}
const cidrsMeet = (a: Cidr, b: Cidr) => a.family === b.family && a.first <= b.last && b.first <= a.last;
const portsMeet = (a: PortRange, b: PortRange) => a.from <= b.to && b.from <= a.to;

describe('firstCidrOverlap', () => {
  const parse = (list: string[]) => list.map(mustParseCidr);

  test.each([
    ['disjoint', ['10.0.0.0/8', '11.0.0.0/8', '::/1'], undefined],
    ['a later /16 inside an earlier /8', ['10.0.0.0/8', '192.0.2.0/24', '10.1.0.0/16'], { index: 2, clash: 0 }],
    ['a later /8 around two earlier /16s: the first of them is named', ['10.2.0.0/16', '10.1.0.0/16', '10.0.0.0/8'], { index: 2, clash: 0 }],
    ['the same host twice', ['192.0.2.1/32', '192.0.2.1/32'], { index: 1, clash: 0 }],
    ['the same bits in two families do not overlap', ['0.0.0.0/0', '::/96'], undefined],
    ['the first overlapping entry wins over a later pair', ['10.0.0.0/24', '10.0.0.0/25', '10.0.0.0/8'], { index: 1, clash: 0 }],
  ])('%s', (_name, list, expected) => {
    expect(firstCidrOverlap(parse(list))).toEqual(expected);
  });

  test('equals the quadratic scan on random lists full of nesting', () => {
    // Few prefixes over a small space, so nesting, duplicates and siblings are all common.
    const cidr = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 20, max: 32 })).map(([n, prefix]) => {
      const address = (10 << 24) + (n << 4);
      const masked = prefix === 32 ? address : address & ~((1 << (32 - prefix)) - 1);
      return `${(masked >>> 24) & 255}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}/${prefix}`;
    });
    fc.assert(fc.property(fc.array(cidr, { maxLength: 40 }), (list) => {
      const parsed = parse(list);
      expect(firstCidrOverlap(parsed)).toEqual(naive(parsed, cidrsMeet));
    }), { seed: 12, numRuns: 2000 });
  });
});

describe('firstPortOverlap', () => {
  const ranges = (list: Array<[number, number]>) => list.map(([a, b]) => PortRange.range(a, b));

  test.each([
    ['disjoint', [[1, 10], [11, 20], [65535, 65535]], undefined],
    ['a port inside an earlier range', [[50, 60], [55, 55]], { index: 1, clash: 0 }],
    ['a range over two earlier ports: the first is named', [[7, 7], [5, 5], [1, 10]], { index: 2, clash: 0 }],
    ['touching ends overlap', [[1, 5], [5, 9]], { index: 1, clash: 0 }],
  ] as Array<[string, Array<[number, number]>, unknown]>)('%s', (_name, list, expected) => {
    expect(firstPortOverlap(ranges(list))).toEqual(expected);
  });

  test('equals the quadratic scan on random lists, and lists never leak into each other', () => {
    const range = fc.tuple(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 0, max: 6 }))
      .map(([from, width]) => [from, from + width] as [number, number]);
    fc.assert(fc.property(fc.array(range, { maxLength: 30 }), (list) => {
      const parsed = ranges(list);
      expect(firstPortOverlap(parsed)).toEqual(naive(parsed, portsMeet));
    }), { seed: 12, numRuns: 2000 });
  });
});
