/* eslint-disable no-bitwise */ // address arithmetic is bit arithmetic
import * as ipaddr from 'ipaddr.js';

/** Address family of a CIDR: rules are rendered per family (iptables/ip6tables, nft ip/ip6). */
export type Family = 'ipv4' | 'ipv6';

/** A validated CIDR block, normalised, with its numeric bounds for overlap and complement maths. */
export interface Cidr {
  readonly family: Family;
  /** Canonical text, e.g. `10.0.0.0/8`, `fd00::/8`; a single host keeps its prefix (`/32`, `/128`). */
  readonly text: string;
  readonly prefix: number;
  readonly first: bigint;
  readonly last: bigint;
}

const BITS: Record<Family, number> = { ipv4: 32, ipv6: 128 };

/**
 * Results of parseCidr by text: a 100,000-entry list is parsed by the checks, each OS's compile and
 * the dialects, and the parse (two passes of ipaddr.js) was a fifth of its synth time. Cidrs are
 * immutable, so callers may share them; the cache is dropped whole when it grows past CACHE_MAX.
 */
const parseCache = new Map<string, Cidr | string>();
const CACHE_MAX = 1_000_000;

/** Empties parseCidr's cache: the benchmark times each in-process synth cold, as a fresh `cdk8s synth` runs. */
export function forgetParsedCidrs(): void {
  parseCache.clear();
}

/**
 * Parses `a.b.c.d[/n]` or an IPv6 address with optional prefix. Returns an error text instead of
 * throwing so callers can name the construct path and field around it.
 */
export function parseCidr(value: string): Cidr | string {
  if (typeof value !== 'string') return 'is not an IP address or CIDR';
  let result = parseCache.get(value);
  if (result === undefined) {
    result = parseUncached(value);
    if (parseCache.size >= CACHE_MAX) parseCache.clear();
    parseCache.set(value, result);
  }
  return result;
}

function parseUncached(value: string): Cidr | string {
  if (value.trim() !== value || value === '') {
    return 'is not an IP address or CIDR';
  }
  const [addrText, prefixText, ...rest] = value.split('/');
  if (rest.length > 0) return 'is not an IP address or CIDR';
  let family: Family;
  if (ipaddr.IPv4.isValidFourPartDecimal(addrText)) {
    family = 'ipv4';
  } else if (ipaddr.IPv6.isValid(addrText) && addrText.includes(':')) {
    family = 'ipv6';
  } else {
    return 'is not an IP address or CIDR';
  }
  const bits = BITS[family];
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      return `has an invalid prefix length (0-${bits} for ${family})`;
    }
    prefix = Number(prefixText);
  }
  const bytes = ipaddr.parse(addrText).toByteArray();
  const address = bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
  const hostBits = BigInt(bits - prefix);
  const first = (address >> hostBits) << hostBits;
  if (first !== address) {
    return `has host bits set (did you mean ${formatAddress(family, first)}/${prefix}?)`;
  }
  const last = first + (1n << hostBits) - 1n;
  return { family, prefix, first, last, text: `${formatAddress(family, first)}/${prefix}` };
}

/** Parses or throws with the given context (for internal, already-validated data). */
export function mustParseCidr(value: string): Cidr {
  const parsed = parseCidr(value);
  if (typeof parsed === 'string') throw new Error(`internal: '${value}' ${parsed}`);
  return parsed;
}

export function formatAddress(family: Family, value: bigint): string {
  // dotted decimal directly: what ipaddr.js prints for IPv4, at a fraction of the cost
  if (family === 'ipv4') {
    const n = Number(value);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const bytes: number[] = [];
  for (let i = BITS[family] / 8 - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

/** The address without prefix for single hosts, else the CIDR text (how iptables, nft and Windows print it). */
export function hostOrCidr(cidr: Cidr): string {
  return cidr.prefix === BITS[cidr.family] ? formatAddress(cidr.family, cidr.first) : cidr.text;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

/** The whole address space of a family, the implicit value of an omitted address list. */
export function anyAddress(family: Family): Cidr {
  return family === 'ipv4' ? mustParseCidr('0.0.0.0/0') : mustParseCidr('::/0');
}

export function maxAddress(family: Family): bigint {
  return (1n << BigInt(BITS[family])) - 1n;
}
