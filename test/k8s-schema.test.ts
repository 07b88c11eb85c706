import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expectValidManifests, registerCrdFiles, registerCrdSchemas, validateManifest } from './util/k8s-schema';

function daemonSet(podSpec: Record<string, unknown> = {}): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'node-firewall', namespace: 'kube-system', labels: { 'app.kubernetes.io/name': 'node-firewall' } },
    spec: {
      selector: { matchLabels: { app: 'node-firewall' } },
      template: {
        metadata: { labels: { app: 'node-firewall' } },
        spec: {
          hostNetwork: true,
          containers: [{
            name: 'apply',
            image: 'registry.k8s.io/build-image/distroless-iptables:v0.9.6',
            command: ['/bin/sh', '-c', 'sleep infinity'],
            resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: 64 * 1024 * 1024 } },
            ports: [{ containerPort: 9100, protocol: 'TCP' }],
          }],
          ...podSpec,
        },
      },
    },
  };
}

describe('validateManifest (Kubernetes 1.28, strict)', () => {
  test('a minimal DaemonSet with quantities as strings and numbers is valid', () => {
    expect(validateManifest(daemonSet())).toEqual([]);
  });

  test('core and other API groups are found from x-kubernetes-group-version-kind', () => {
    // GIVEN one object of each kind this library emits
    const objects = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hostnet' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rules' }, data: { 'rules.v4': '*filter\nCOMMIT\n' } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { selector: { app: 'x' }, ports: [{ port: 53, targetPort: 'dns', protocol: 'UDP' }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'anchor' }, spec: { containers: [{ name: 'pause', image: 'pause:3.9' }] } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] },
      { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'p' }, value: 1000000 },
    ];

    // THEN
    expect(() => expectValidManifests(objects)).not.toThrow();
  });

  test('a misspelled field is rejected, naming its path', () => {
    expect(validateManifest(daemonSet({ hostNetwrok: true }))).toEqual([
      'spec.template.spec: unknown field "hostNetwrok"',
    ]);
  });

  test('a misspelled field deep in a container is rejected too', () => {
    const ds = daemonSet();
    ds.spec.template.spec.containers[0].resources.request = { cpu: '10m' };
    expect(validateManifest(ds)).toEqual([
      'spec.template.spec.containers[0].resources: unknown field "request"',
    ]);
  });

  test('a wrong type is rejected', () => {
    expect(validateManifest(daemonSet({ hostNetwork: 'yes' }))).toEqual([
      'spec.template.spec.hostNetwork: must be boolean',
    ]);
  });

  test('an int-or-string of the wrong type gives one message', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 53, targetPort: true }] } };
    expect(validateManifest(svc)).toEqual(['spec.ports[0].targetPort: must be string or integer']);
  });

  test('int32 fields reject out-of-range numbers', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 2 ** 31 }] } };
    expect(validateManifest(svc)).toEqual(['spec.ports[0].port: must match format "int32"']);
  });

  test('map keys that are not identifiers are quoted in paths', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', annotations: { 'example.com/x': 1 } } };
    expect(validateManifest(cm)).toEqual(['metadata.annotations["example.com/x"]: must be string']);
  });

  test('every error of an object is reported', () => {
    expect(validateManifest(daemonSet({ hostNetwork: 'yes', hostPid: true }))).toHaveLength(2);
  });

  test('an unknown kind or apiVersion is an error, not silently valid', () => {
    expect(validateManifest({ apiVersion: 'v1', kind: 'DaemonSet', metadata: { name: 'x' } }))
      .toEqual([expect.stringContaining('no schema for apiVersion "v1" kind "DaemonSet"')]);
    expect(validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' } }))
      .toEqual([expect.stringContaining('no schema for apiVersion "example.com/v1" kind "Widget"')]);
    expect(validateManifest({ metadata: { name: 'x' } }))
      .toEqual([expect.stringContaining('needs string "apiVersion" and "kind"')]);
  });

  test('expectValidManifests names each bad object and all its errors', () => {
    const good = daemonSet();
    const bad = daemonSet({ hostNetwrok: true, hostPID: 'yes' });
    bad.metadata.name = 'bad-one';

    expect(() => expectValidManifests([good, bad])).toThrow([
      '1 of 2 manifests are not valid Kubernetes 1.28:',
      '  DaemonSet kube-system/bad-one (apps/v1):',
      '    - spec.template.spec: unknown field "hostNetwrok"',
      '    - spec.template.spec.hostPID: must be boolean',
    ].join('\n'));
  });
});
