import { join } from 'path';
import { Testing } from 'cdk8s';
import { CompartmentExampleChart } from '../../examples/compartment-workload';
import { expectValidManifests, registerCrdFiles } from '../util/k8s-schema';
import { PROFILE_NAMES, findObject, synthApp } from '../util/synth';

const CRDS = join(__dirname, '..', '..', 'crds', 'linkerd');

describe('the synth app (what dist/ holds)', () => {
  test.each(PROFILE_NAMES)('%s: the firewall and nothing else (no example, no exemption of one)', (profile) => {
    // WHEN
    const charts = synthApp(profile, profile === 'k2s' ? {} : { podCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/12'], clusterDnsIp: '10.96.0.10', upstreamResolvers: ['192.0.2.53'] });
    // THEN
    expect(Object.keys(charts)).toEqual(['hostnet']);
    expect(charts.hostnet.map((o) => o.kind).sort()).toEqual(
      // per OS: the scripts, the policy as data (policy.json) and the DaemonSet
      profile === 'k2s' ? ['ConfigMap', 'ConfigMap', 'ConfigMap', 'ConfigMap', 'DaemonSet', 'DaemonSet', 'Namespace'] : ['ConfigMap', 'ConfigMap', 'DaemonSet', 'Namespace']);
    // the demo workload's udp/8125 once opened every Windows node of every cluster
    expect(JSON.stringify(charts.hostnet)).not.toMatch(/albums|8125/);
  });
});

describe('examples/compartment-workload.ts', () => {
  beforeAll(() => {
    registerCrdFiles(...['server', 'network-authentication', 'authorization-policy', 'meshtls-authentication'].map((f) => join(CRDS, `${f}.yaml`)));
  });

  test('synthesizes valid objects: the firewall, the namespace, two instances, its UDP port open on Windows only', () => {
    // WHEN
    const objects = Testing.synth(new CompartmentExampleChart(Testing.app(), 'compartment-workload'));
    // THEN
    expectValidManifests(objects);
    expect(findObject(objects, 'Namespace', 'compartment-example').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(objects.filter((o) => o.kind === 'Deployment').map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      'compartment-example/albums-win-anchor-0', 'compartment-example/albums-win-anchor-1',
      'compartment-example/albums-win-launcher-0', 'compartment-example/albums-win-launcher-1',
    ]);
    const windows = findObject(objects, 'ConfigMap', 'hostnet-windows-scripts').data['apply.ps1'];
    const linux = findObject(objects, 'ConfigMap', 'hostnet-linux-scripts').data['apply.sh'];
    expect(windows).toContain('albums-win-udp');
    expect(linux).not.toContain('albums-win-udp');
  });
});
