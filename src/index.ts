// The public API, name by name: what users of the package may import, and what jsii turns into
// other languages. Helpers stay importable from their own modules inside this repository (tests,
// bench) but are not part of the package's contract. test/public-api.test.ts lists these names.

// The constructs
export {
  NodeFirewall, type NodeFirewallProps, LinuxBackend, IptablesMode,
  DEFAULT_LINUX_IMAGE, DEFAULT_WINDOWS_IMAGE, DEFAULT_CHECK_IMAGE, DEFAULT_NODE_EXPORTER_IMAGE, DEFAULT_WINDOWS_EXPORTER_IMAGE,
} from './constructs/node-firewall';
export { DnsExemption, type DnsExemptionProps } from './constructs/dns-exemption';
export { CompartmentWorkload, type CompartmentWorkloadProps, type CompartmentFirewallRule } from './constructs/compartment-workload';
export {
  CompartmentIsolation, type CompartmentPort, type CompartmentProbe, type CompartmentLauncher, DEFAULT_PAUSE_IMAGE, K2S_SYSTEM_USER,
} from './constructs/compartment-options';

// The policy they enforce
export { FirewallPolicy, type FirewallPolicyProps } from './policy/firewall-policy';
export { type FirewallRuleProps, type NamedRule, RuleOrigin } from './policy/firewall-rule';
export { FirewallMode } from './policy/firewall-mode';
export { Protocol, RuleAction, TrafficScope } from './policy/protocol';
export { PortRange } from './policy/port-range';
export { DnsResolver, DnsResolverKind, NODE_LOCAL_DNS_IP } from './policy/dns-resolver';
export { NodeOs } from './policy/node-os';

// The clusters they protect
export { type ClusterProfile, type InfrastructurePort, type NodeTaint } from './profiles/cluster-profile';
export { ClusterProfiles } from './profiles/cluster-profiles';

// Asking a synthesized policy before it is applied (the cdk8s-hostnet command uses the same)
export { explainFlow, Verdict, type Flow, type FlowVerdict } from './explain/explain-flow';
export { diffPolicies, type DiffRegion } from './explain/diff-policies';
export { policiesFromManifests } from './explain/policies-from-manifests';
export { type HostPolicy, type HostPolicyRule } from './explain/host-policy';
