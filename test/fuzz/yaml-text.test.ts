// The fuzzer's YAML writer must write what it is given: a plausible document that came out as
// broken YAML would test the parser's error path instead of the renderers.
import fc from 'fast-check';
import { parse } from 'yaml';
import { Anchored, Pairs, Raw, YamlValue, toYamlText } from './yaml-text';

type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('$(reboot)', '\'', '"', '\\', '- x', 'a: b', '#', '[', '{', '&a', '*a', '!!str', '%', '@', '`', ' lead', 'trail ', '\n', '\u2028', '\ud800', 'true',
    'null', '53', '0x35', '.inf', '10.0.0.0/8', 'fe80::1%eth0', '::/0', 'x:1:2', ''),
);
const plain: fc.Arbitrary<Plain> = fc.letrec<{ value: Plain }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' },
    fc.constantFrom<Plain>(null, true, false, 0, 1, -1, 1.5, 1e21, 65536),
    fc.integer(),
    text,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text.filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 4 })),
})).value;

const style = fc.record({
  flowBelowDepth: fc.constantFrom(0, 1, 2, 5),
  quoting: fc.constantFrom('single' as const, 'double' as const),
  asciiOnly: fc.boolean(),
  indent: fc.constantFrom(2, 4),
});

describe('the fuzzer\'s YAML writer', () => {
  test('quoted scalars, flow and block collections read back as the values written', () => {
    fc.assert(fc.property(plain, style, (value, s) => {
      expect(parse(toYamlText(value as YamlValue, s), { schema: 'core' })).toEqual(value);
    }), { seed: 13, numRuns: 500 });
  });

  test('plain scalars read back as strings where YAML allows them, else as what YAML makes of them', () => {
    const yaml = toYamlText({ a: '10.0.0.0/8', b: 'x:1:2', c: '53', d: 'true', e: 'two words', f: ['::/0', 'fe80::1%eth0'] });
    expect(parse(yaml, { schema: 'core' })).toEqual({ a: '10.0.0.0/8', b: 'x:1:2', c: 53, d: true, e: 'two words', f: ['::/0', 'fe80::1%eth0'] });
  });

  test('anchors, aliases, repeated keys and verbatim snippets are written as given', () => {
    const yaml = toYamlText(new Pairs([
      ['podCidrs', new Anchored('p', ['10.0.0.0/8'])],
      ['nodeCidrs', new Raw('*p')],
      ['name', new Raw('!!str 53')],
      ['name', 'again'],
      [new Raw('? [a]'), 1],
    ]), { flowBelowDepth: 2, quoting: 'plain', asciiOnly: false, indent: 2 });
    expect(yaml).toBe('podCidrs: &p\n  - 10.0.0.0/8\nnodeCidrs: *p\nname: !!str 53\nname: again\n? [a]: 1\n');
  });
});
