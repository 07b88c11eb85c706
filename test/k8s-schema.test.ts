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

// policy.linkerd.io Server, version v1beta3 only, from linkerd/linkerd2
// charts/linkerd-crds/templates/policy/server.yaml at commit b24cd4059841 (Apache-2.0), Helm
// template lines and descriptions removed. Inline so that this test does not depend on where the
// library keeps its CRD copies.
const LINKERD_SERVER_CRD = `---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servers.policy.linkerd.io
spec:
  group: policy.linkerd.io
  names:
    kind: Server
    plural: servers
    singular: server
  scope: Namespaced
  versions:
    - name: v1beta3
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          required: [spec]
          properties:
            spec:
              type: object
              required:
                - port
              oneOf:
                - required: [podSelector]
                - required: [externalWorkloadSelector]
              properties:
                accessPolicy:
                  type: string
                  default: deny
                podSelector:
                  type: object
                  properties:
                    matchLabels:
                      type: object
                      x-kubernetes-preserve-unknown-fields: true
                    matchExpressions:
                      type: array
                      items:
                        type: object
                        required: [key, operator]
                        properties:
                          key:
                            type: string
                          operator:
                            type: string
                            enum: [In, NotIn, Exists, DoesNotExist]
                          values:
                            type: array
                            items:
                              type: string
                externalWorkloadSelector:
                  type: object
                  properties:
                    matchLabels:
                      type: object
                      x-kubernetes-preserve-unknown-fields: true
                port:
                  x-kubernetes-int-or-string: true
                proxyProtocol:
                  type: string
                  default: unknown
`;

describe('registered CRD schemas (Linkerd Server)', () => {
  function server(spec: Record<string, unknown>): any {
    return { apiVersion: 'policy.linkerd.io/v1beta3', kind: 'Server', metadata: { name: 'probe', namespace: 'app' }, spec };
  }

  beforeAll(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-'));
    const file = path.join(dir, 'server.yaml');
    fs.writeFileSync(file, LINKERD_SERVER_CRD);
    try {
      expect(registerCrdFiles(file)).toEqual(['policy.linkerd.io/v1beta3 Server']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a Server validates, with a port given as a name or a number', () => {
    expect(validateManifest(server({ podSelector: { matchLabels: { app: 'x' } }, port: 'http-probe', proxyProtocol: 'HTTP/1' }))).toEqual([]);
    expect(validateManifest(server({ podSelector: { matchLabels: { app: 'x' } }, port: 8080 }))).toEqual([]);
  });

  test('a misspelled field in a Server is rejected', () => {
    expect(validateManifest(server({ podSelector: { matchLabels: { app: 'x' } }, port: 8080, proxyProtcol: 'HTTP/1' })))
      .toEqual(['spec: unknown field "proxyProtcol"']);
  });

  test('a Server port of the wrong type is rejected', () => {
    expect(validateManifest(server({ podSelector: {}, port: true }))).toEqual(['spec.port: must be integer or string']);
  });

  test('a Server without a selector fails its oneOf', () => {
    expect(validateManifest(server({ port: 8080 }))).toContain('spec: must match exactly one schema in oneOf');
  });

  test('metadata of a custom object is checked as ObjectMeta', () => {
    const obj = server({ podSelector: {}, port: 8080 });
    obj.metadata.lables = { app: 'x' };
    expect(validateManifest(obj)).toEqual(['metadata: unknown field "lables"']);
  });

  test('versions a CRD does not serve stay unknown', () => {
    // GIVEN a CRD whose only version is no longer served
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { kind: 'Widget', plural: 'widgets' },
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: false, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
      },
    };

    // WHEN
    const registered = registerCrdSchemas([crd]);

    // THEN
    expect(registered).toEqual([]);
    expect(validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }))
      .toEqual([expect.stringContaining('no schema for apiVersion "example.com/v1" kind "Widget"')]);
  });

  test('only v1 CustomResourceDefinitions can be registered', () => {
    expect(() => registerCrdSchemas([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }]))
      .toThrow('expected an apiextensions.k8s.io/v1 CustomResourceDefinition, got ConfigMap c (v1)');
  });
});
