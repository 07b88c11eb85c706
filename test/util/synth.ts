// Synthesizes the synth app's chart for a profile plus override values, as `cdk8s synth` would,
// and pulls the generated scripts out of the ConfigMaps: tests run exactly what users apply.
import { Testing } from 'cdk8s';
import { buildApp } from '../../src/app/build-app';
import { parseClusterConfig } from '../../src/app/cluster-config';
import { ClusterProfiles } from '../../src/profiles/cluster-profiles';

/** Network values for real-kernel tests: only 198.18.0.0/15, matching test/e2e/topology.ts. */
export const E2E_OVERRIDES = {
  podCidrs: ['198.19.0.0/16'],
  serviceCidrs: ['198.18.64.0/18'],
  clusterDnsIp: '198.18.64.10',
  upstreamResolvers: ['198.18.0.53'],
  nodeCidrs: ['198.18.0.0/24'],
};

export const PROFILE_NAMES = ['k2s', 'k0s-kube-router', 'k0s-calico', 'cfke-cilium', 'generic'];

/** The NodeFirewall chart (dist/hostnet.k8s.yaml) of the synth app. */
export function synthProfile(profile: string, overrides: Record<string, unknown> = {}): any[] {
  return Testing.synth(buildApp(Testing.app(), configFor(profile, overrides)).hostnet);
}

/** Every chart of the synth app, by chart id, as `cdk8s synth` writes them to dist/. */
export function synthApp(profile: string, overrides: Record<string, unknown> = {}): Record<string, any[]> {
  const app = Testing.app();
  buildApp(app, configFor(profile, overrides));
  return Object.fromEntries(app.charts.map((chart) => [chart.node.id, Testing.synth(chart)]));
}

function configFor(profile: string, overrides: Record<string, unknown>) {
  return parseClusterConfig('test-overrides.yaml', overrides, ClusterProfiles.byName(profile));
}

export function findObject(objects: any[], kind: string, name: string): any {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  return found;
}

/** apply.sh, remove.sh, run.sh and droplog.sh (when the firewall has a drop log) from the synthesized Linux ConfigMap (of the NodeFirewall called `name`). */
export function linuxScripts(objects: any[], name = 'hostnet'): { apply: string; remove: string; run: string; dropLog?: string } {
  const data = findObject(objects, 'ConfigMap', `${name}-linux-scripts`).data;
  return { apply: data['apply.sh'], remove: data['remove.sh'], run: data['run.sh'], ...(data['droplog.sh'] ? { dropLog: data['droplog.sh'] } : {}) };
}

/** apply.ps1 and remove.ps1 from the synthesized Windows ConfigMap (of the NodeFirewall called `name`). */
export function windowsScripts(objects: any[], name = 'hostnet'): { apply: string; remove: string; run: string } {
  const data = findObject(objects, 'ConfigMap', `${name}-windows-scripts`).data;
  return { apply: data['apply.ps1'], remove: data['remove.ps1'], run: data['run.ps1'] };
}
