// Two NodeFirewalls on one Windows host: each apply.ps1/remove.ps1 touches only its own rule group
// and rule names, so one firewall's apply or remove never removes the other's rules.
import { windowsAgentOptions } from './agent-options';
import { readRules } from './firewall-evaluator';
import { windowsPolicy } from './fixtures';
import { renderWindowsAgent, renderWindowsReadiness } from '../../src/dialects/windows-agent';
import { renderWindowsFirewall } from '../../src/dialects/windows-firewall';
import { K2S_PROFILE } from '../../src/profiles/k2s';

/** PowerShell's -like for the patterns we write: `*` any run, `?` one character, nothing else special. */
function like(name: string, pattern: string): boolean {
  const regex = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 'i').test(name);
}

/** What remove.ps1's Get-OurRules selects besides its group: the rule-name condition, as a predicate. */
function removesByName(remove: string): (name: string) => boolean {
  const filter = /Where-Object \{ \$_\.Group -eq \$Group -or (.*) \}\)/.exec(remove);
  if (!filter) throw new Error('no Get-OurRules filter in remove.ps1');
  const likes = [...filter[1].matchAll(/\$_\.Name -like '([^']+)'/g)].map((m) => m[1]);
  const notLikes = [...filter[1].matchAll(/\$_\.Name -notlike '([^']+)'/g)].map((m) => m[1]);
  expect(likes).toHaveLength(1);
  return (name) => like(name, likes[0]) && notLikes.every((p) => !like(name, p));
}

describe('two NodeFirewalls on one Windows host', () => {
  // GIVEN the same policy under the default name and under another
  const a = renderWindowsFirewall(windowsPolicy(K2S_PROFILE), 'hostnet');
  const b = renderWindowsFirewall(windowsPolicy(K2S_PROFILE), 'edge-pool');

  test('each script works on its own group, named after the firewall', () => {
    for (const script of [a.apply, a.remove]) {
      expect(script).toContain("\n$Group = 'cdk8s-hostnet'\n");
      expect(script).not.toContain('edge-pool');
    }
    for (const script of [b.apply, b.remove]) expect(script).toContain("\n$Group = 'cdk8s-hostnet-edge-pool'\n");
    // no cmdlet names a group other than through $Group
    for (const script of [a.apply, a.remove, b.apply, b.remove]) expect(script).not.toMatch(/-Group\s+['"]/);
  });

  test('rule names are disjoint, and each remove.ps1 selects only its own by name', async () => {
    const namesA = (await readRules(a.apply)).map((r) => r.name);
    const namesB = (await readRules(b.apply)).map((r) => r.name);
    expect(namesA.length).toBeGreaterThan(0);
    expect(namesA.every((n) => /^cdk8s-hostnet-[a-z0-9-]+-[0-9a-f]{8}$/.test(n))).toBe(true);
    expect(namesB.every((n) => /^cdk8s-hostnet-edge-pool\.[a-z0-9-]+-[0-9a-f]{8}$/.test(n))).toBe(true);
    expect(namesA.filter((n) => namesB.includes(n))).toEqual([]);

    const removedByA = removesByName(a.remove);
    const removedByB = removesByName(b.remove);
    expect(namesA.filter((n) => !removedByA(n))).toEqual([]);
    expect(namesB.filter((n) => !removedByB(n))).toEqual([]);
    expect(namesB.filter(removedByA)).toEqual([]);
    expect(namesA.filter(removedByB)).toEqual([]);
  });

  test('the agents keep their last good policy, pod directories and readiness apart', () => {
    const runA = renderWindowsAgent(windowsAgentOptions('hostnet'));
    const runB = renderWindowsAgent(windowsAgentOptions('edge-pool'));
    // the default name keeps the files of earlier releases
    expect(runA).toContain("$Good = Join-Path $Node 'good-apply.ps1'");
    expect(runA).toContain("$PodsRoot = Join-Path $Node 'pods'");
    expect(runB).toContain("$Good = Join-Path $Node 'good-apply-edge-pool.ps1'");
    expect(runB).toContain("$PodsRoot = Join-Path $Node 'pods-edge-pool'");
    // the readiness probe looks where its own agent writes
    expect(renderWindowsReadiness('edge-pool')).toContain("Join-Path $Node ('pods-edge-pool\\' + $env:HOSTNET_POD_UID)");
    expect(runB).toContain("Join-Path $Node ('pods-edge-pool\\' + $env:HOSTNET_POD_UID)");
    expect(renderWindowsReadiness()).toContain("Join-Path $Node ('pods\\' + $env:HOSTNET_POD_UID)");
  });
});
