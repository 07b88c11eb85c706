import fc from 'fast-check';
import { readRules } from './firewall-evaluator';
import { PATH, windowsPolicy } from './fixtures';
import { parsePowerShell, parseProblems, treeShape } from './powershell-parser';
import { renderWindowsFirewall } from '../../src/dialects/windows-firewall';
import { psQuote } from '../../src/dialects/windows-powershell';
import { compilePolicy } from '../../src/policy/compile-policy';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { PortRange } from '../../src/policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../../src/policy/protocol';
import { synthProfile, windowsScripts } from '../util/synth';

/** A policy whose user-written strings are `description`: an exemption and a deny rule. */
function policyDescribedAs(description: string) {
  const policy = FirewallPolicy.denyUdp()
    .addRule('partner-syslog', {
      action: RuleAction.ALLOW,
      protocol: Protocol.UDP,
      scopes: [TrafficScope.NODE_EGRESS],
      destinations: ['198.51.100.0/24', '2001:db8::/32'],
      destinationPorts: [PortRange.of(514)],
      description,
    })
    .addRule('no-telnet', {
      action: RuleAction.DENY,
      protocol: Protocol.TCP,
      scopes: [TrafficScope.NODE_INGRESS, TrafficScope.NODE_EGRESS],
      destinationPorts: [PortRange.of(23)],
      description,
    });
  return windowsPolicy(undefined, policy);
}

describe('generated PowerShell parses (tree-sitter-powershell)', () => {
  test.each(['apply', 'remove', 'run'] as const)('the synthesized k2s ConfigMap\'s %s.ps1 has no ERROR or MISSING node', async (which) => {
    const script = windowsScripts(synthProfile('k2s'))[which];
    expect(parseProblems(await parsePowerShell(script))).toEqual([]);
  });

  test.each(['apply', 'remove'] as const)('k2s %s.ps1 has no ERROR or MISSING node', async (which) => {
    // GIVEN
    const script = renderWindowsFirewall(windowsPolicy(), 'hostnet')[which];
    // WHEN
    const tree = await parsePowerShell(script);
    // THEN
    expect(parseProblems(tree)).toEqual([]);
    expect(script).toMatch(/^[\x20-\x7e\n]*$/); // ASCII: powershell.exe 5.1 reads BOM-less files as ANSI
  });

  test('every rule kind parses: deny icmp, any, tcp with addresses, and an empty rule set', async () => {
    const policy = FirewallPolicy.denyUdp()
      .addRule('no-ping', { action: RuleAction.DENY, protocol: Protocol.ICMP, scopes: [TrafficScope.NODE_INGRESS], description: 'no ping' })
      .addRule('quarantine', { action: RuleAction.DENY, protocol: Protocol.ANY, scopes: [TrafficScope.NODE_EGRESS], destinations: ['203.0.113.0/24', '2001:db8:bad::/48'], description: 'quarantined net', overrideFailsafe: true })
      .addRule('no-ssh-out', { action: RuleAction.DENY, protocol: Protocol.TCP, scopes: [TrafficScope.NODE_EGRESS], sources: ['172.19.1.1'], destinationPorts: [PortRange.of(22)], description: 'no ssh from the host switch address' });
    const scripts = [
      renderWindowsFirewall(windowsPolicy(undefined, policy), 'hostnet'),
      renderWindowsFirewall(compilePolicy(PATH, new FirewallPolicy({ udp: RuleAction.ALLOW }), []), 'empty'),
    ];
    for (const script of scripts.flatMap((s) => [s.apply, s.remove])) {
      expect(parseProblems(await parsePowerShell(script))).toEqual([]);
    }
    expect(scripts[1].apply).toContain('$Rules = @()');
    expect(await readRules(scripts[1].apply)).toEqual([]);
  });

  test('psQuote doubles single quotes, including the typographic ones PowerShell also accepts', () => {
    expect(psQuote('it\'s')).toBe('\'it\'\'s\'');
    expect(psQuote('$x `y` "z"')).toBe('\'$x `y` "z"\'');
    expect(psQuote('a\u2019b')).toBe('\'a\u2019\u2019b\'');
  });

  test('property: descriptions and names with PowerShell metacharacters never change the parsed structure', async () => {
    // GIVEN the shape of a script with plain strings
    const baseline = renderWindowsFirewall(policyDescribedAs('baseline'), 'baseline');
    const shapes = {
      apply: treeShape((await parsePowerShell(baseline.apply)).rootNode),
      remove: treeShape((await parsePowerShell(baseline.remove)).rootNode),
    };
    const meta = fc.stringOf(fc.constantFrom(...'\'"`$;(){}[]#<>|&@,.-=+%:!?*~^\\/ a'.split('')), { minLength: 1, maxLength: 200 });
    const printable = fc.string({ minLength: 1, maxLength: 200 }); // fast-check 3: printable ASCII
    await fc.assert(fc.asyncProperty(fc.oneof(meta, printable), fc.oneof(meta, printable), async (description, name) => {
      // WHEN the same policy carries arbitrary printable text
      const scripts = renderWindowsFirewall(policyDescribedAs(description), name);
      // THEN the trees have the same shape (only literal and comment contents differ) ...
      const apply = await parsePowerShell(scripts.apply);
      expect(parseProblems(apply)).toEqual([]);
      expect(treeShape(apply.rootNode)).toBe(shapes.apply);
      expect(treeShape((await parsePowerShell(scripts.remove)).rootNode)).toBe(shapes.remove);
      // ... and the text comes back unchanged from the literals
      const rules = await readRules(scripts.apply);
      expect(rules.filter((r) => r.description === `no-telnet: ${description}`)).toHaveLength(2);
      expect(rules.every((r) => r.displayName.startsWith(`${name}: `))).toBe(true);
    }), { numRuns: 150 });
  });
});
