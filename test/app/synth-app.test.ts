import { join } from 'path';
import { expectValidManifests, registerCrdFiles } from '../util/k8s-schema';
import { findObject, synthApp } from '../util/synth';

const CRDS = join(__dirname, '..', '..', 'crds', 'linkerd');

describe('the synth app (what dist/ holds)', () => {
  beforeAll(() => {
    registerCrdFiles(...['server', 'network-authentication', 'authorization-policy', 'meshtls-authentication'].map((f) => join(CRDS, `${f}.yaml`)));
  });

  test('k2s: the firewall plus one CompartmentWorkload example, all valid, its UDP port open on Windows only', () => {
    // WHEN
    const charts = synthApp('k2s');
    // THEN
    expect(Object.keys(charts)).toEqual(['hostnet', 'compartment-example']);
    const example = charts['compartment-example'];
    expectValidManifests(example);
    expect(example[0]).toMatchObject({ kind: 'Namespace', metadata: { name: 'compartment-example' } });
    expect(example.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name).sort())
      .toEqual(['albums-win-anchor-0', 'albums-win-anchor-1', 'albums-win-launcher-0', 'albums-win-launcher-1']);
    const windows = findObject(charts.hostnet, 'ConfigMap', 'hostnet-windows-scripts').data['apply.ps1'];
    const linux = findObject(charts.hostnet, 'ConfigMap', 'hostnet-linux-scripts').data['apply.sh'];
    expect(windows).toContain('albums-win-udp');
    expect(linux).not.toContain('albums-win-udp');
  });

  test('clusters without Windows nodes get no example; the config can drop it', () => {
    expect(Object.keys(synthApp('k0s-calico', { upstreamResolvers: ['192.0.2.53'] }))).toEqual(['hostnet']);
    expect(Object.keys(synthApp('k2s', { compartmentExample: false }))).toEqual(['hostnet']);
  });
});
