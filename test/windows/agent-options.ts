// The Windows agent options the run.ps1 tests render with: one firewall name and mode, the rest fixed.
import { AgentOptions } from '../../src/dialects/agent-options';
import { FirewallMode } from '../../src/policy/firewall-mode';

export function windowsAgentOptions(name = 'hostnet', mode = FirewallMode.ENFORCE): AgentOptions {
  return {
    name,
    mode,
    policyId: 'a'.repeat(64),
    reapplySeconds: 300,
    driftSeconds: 10,
    dnsChecks: [],
    dnsName: 'kubernetes.default.svc.cluster.local',
    backend: 'windows-firewall',
    version: '0.0.0',
    metricsSeconds: 30,
  } as AgentOptions;
}
