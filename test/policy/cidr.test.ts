// parseCidr keeps a cache and formatAddress prints IPv4 without ipaddr.js: both must give exactly what
// the uncached, library path gives (ipaddr.js is the oracle).
import fc from 'fast-check';
import * as ipaddr from 'ipaddr.js';
import { Cidr, formatAddress, parseCidr } from '../../src/policy/cidr';

describe('cidr', () => {
  test('formatAddress prints every IPv4 address as ipaddr.js does', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
      const bytes = [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256);
      expect(formatAddress('ipv4', BigInt(n))).toBe(ipaddr.fromByteArray(bytes).toString());
    }), { numRuns: 2000 });
    expect(formatAddress('ipv4', 0n)).toBe('0.0.0.0');
    expect(formatAddress('ipv4', 4294967295n)).toBe('255.255.255.255');
  });

  test('a cached parse gives the same answer as the first, for CIDRs and for errors', () => {
    const first = parseCidr('10.1.2.0/24') as Cidr;
    expect(first).toEqual({ family: 'ipv4', prefix: 24, first: 167838208n, last: 167838463n, text: '10.1.2.0/24' });
    expect(parseCidr('10.1.2.0/24')).toEqual(first);
    expect(parseCidr('10.1.2.3/24')).toBe('has host bits set (did you mean 10.1.2.0/24?)');
    expect(parseCidr('10.1.2.3/24')).toBe('has host bits set (did you mean 10.1.2.0/24?)');
    expect(parseCidr(' 10.1.2.0/24')).toBe('is not an IP address or CIDR');
    expect(parseCidr(42 as unknown as string)).toBe('is not an IP address or CIDR');
    expect((parseCidr('fd00::/8') as Cidr).text).toBe('fd00::/8');
  });
});
