import * as api from '../src';

describe('the public API (src/index.ts)', () => {
  test('is this deliberate list of values: no internal helper leaks into the package', () => {
    // GIVEN the names src/index.ts exports at run time (interfaces have none; jsii and API.md list them)
    const exported = Object.keys(api).sort();
    // THEN
    expect(exported).toEqual([
      // constructs
      'NodeFirewall', 'DnsExemption', 'CompartmentWorkload',
      // enums and enum-like classes
      'ClusterProfiles', 'CompartmentIsolation', 'DnsResolver', 'DnsResolverKind', 'FirewallMode', 'FirewallPolicy',
      'IptablesMode', 'LinuxBackend', 'NodeOs', 'PortRange', 'Protocol', 'RuleAction', 'RuleOrigin', 'TrafficScope',
      // asking a synthesized policy: verdicts and diffs (the cdk8s-hostnet command uses the same)
      'explainFlow', 'diffPolicies', 'policiesFromManifests', 'Verdict',
      // defaults users may want to name
      'DEFAULT_CHECK_IMAGE', 'DEFAULT_LINUX_IMAGE', 'DEFAULT_NODE_EXPORTER_IMAGE', 'DEFAULT_PAUSE_IMAGE', 'DEFAULT_WINDOWS_EXPORTER_IMAGE', 'DEFAULT_WINDOWS_IMAGE', 'K2S_SYSTEM_USER', 'NODE_LOCAL_DNS_IP',
    ].sort());
  });

  test('IptablesMode holds the values CLUSTER_CONFIG and the agent use', () => {
    expect(Object.values(api.IptablesMode)).toEqual(['auto', 'legacy', 'nft']);
  });
});
