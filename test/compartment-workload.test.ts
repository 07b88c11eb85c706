import * as fs from 'fs';
import * as path from 'path';
import { Chart, Duration, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { expectValidManifests, registerCrdFiles } from './util/k8s-schema';
import { findObject } from './util/synth';
import { ANCHOR_LABEL, CompartmentIsolation, DEFAULT_PAUSE_IMAGE } from '../src/constructs/compartment-options';
import { CompartmentWorkload, CompartmentWorkloadProps } from '../src/constructs/compartment-workload';
import { NodeFirewall } from '../src/constructs/node-firewall';
import { Protocol, RuleAction, TrafficScope } from '../src/policy/protocol';
import { ClusterProfiles } from '../src/profiles/cluster-profiles';

const CRD_DIR = path.join(__dirname, '..', 'crds', 'linkerd');
registerCrdFiles(...fs.readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml')).map((f) => path.join(CRD_DIR, f)));

/** A legacy service with an app port, a UDP port and a health port of its own, as on K2s. */
const ALBUMS: CompartmentWorkloadProps = {
  executable: 'C:\\apps\\albums\\albumswin.exe',
  args: ['--config', 'C:\\apps\\albums\\prod config.json'],
  env: { RESOURCE: 'albums', LOG_LEVEL: 'info' },
  ports: [{ name: 'http', port: 8080 }, { name: 'syslog', port: 5140, protocol: Protocol.UDP }],
  probe: { port: 8081, path: '/health/readiness' },
  namespace: 'apps',
};

function synth(build: (chart: Chart) => void): any[] {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart);
}

function synthWorkload(props: CompartmentWorkloadProps, id = 'albums'): any[] {
  return synth((chart) => new CompartmentWorkload(chart, id, props));
}

/** Every pod template in the output, with the object that owns it. */
function podTemplates(objects: any[]): { owner: string; labels: Record<string, string>; spec: any }[] {
  return objects.filter((o) => o.kind === 'Deployment').map((o) => ({
    owner: `${o.metadata.namespace}/${o.metadata.name}`,
    labels: o.spec.template.metadata.labels,
    spec: o.spec.template.spec,
  }));
}

/** The equality-based selector `k=v[,k=v]` a launcher passes to `cplauncher -label`. */
function launcherSelector(deployment: any): Record<string, string> {
  const command: string[] = deployment.spec.template.spec.containers[0].command;
  const text = command[command.indexOf('-label') + 1];
  return Object.fromEntries(text.split(',').map((term) => term.split('=') as [string, string]));
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
const launchersOf = (objects: any[]) => objects.filter((o) => o.kind === 'Deployment' && o.metadata.labels['app.kubernetes.io/component'] === 'compartment-launcher');
const anchorsOf = (objects: any[]) => objects.filter((o) => o.kind === 'Deployment' && o.metadata.labels['app.kubernetes.io/component'] === 'compartment-anchor');

/** Fields the API server rejects for pods with spec.os.name windows (validateWindows, Kubernetes 1.28). */
const LINUX_ONLY_POD = ['hostPID', 'hostIPC', 'shareProcessNamespace', 'hostUsers'];
const LINUX_ONLY_POD_SECURITY = ['seLinuxOptions', 'seccompProfile', 'appArmorProfile', 'fsGroup', 'fsGroupChangePolicy', 'sysctls', 'runAsUser', 'runAsGroup', 'supplementalGroups'];
const LINUX_ONLY_CONTAINER_SECURITY = ['seLinuxOptions', 'seccompProfile', 'appArmorProfile', 'capabilities', 'readOnlyRootFilesystem', 'privileged', 'allowPrivilegeEscalation', 'procMount', 'runAsUser', 'runAsGroup'];

const SNAPSHOT_CASES: [string, Partial<CompartmentWorkloadProps>][] = [
  ['perInstance, meshed', { instances: 2, isolation: CompartmentIsolation.PER_INSTANCE, meshed: true }],
  ['perInstance, unmeshed', { instances: 2, isolation: CompartmentIsolation.PER_INSTANCE, meshed: false }],
  // several launchers in one compartment cannot all listen: a worker with no ports and no probe
  ['shared, meshed', { instances: 3, isolation: CompartmentIsolation.SHARED, meshed: true, ports: undefined, probe: undefined }],
  ['shared, unmeshed', { instances: 3, isolation: CompartmentIsolation.SHARED, meshed: false, ports: undefined, probe: undefined }],
];

describe.each(SNAPSHOT_CASES)('%s', (_, overrides) => {
  const objects = synthWorkload({ ...ALBUMS, ...overrides });

  test('full output snapshot', () => {
    expect(objects).toMatchSnapshot();
  });

  test('every object validates against Kubernetes 1.28 and the Linkerd CRDs', () => {
    expectValidManifests(objects);
  });
});

describe('selectors over the whole output', () => {
  // GIVEN several workloads in one namespace, with names chosen to collide if labels were built carelessly
  const objects = synth((chart) => {
    new CompartmentWorkload(chart, 'albums', { ...ALBUMS, instances: 3, meshed: true });
    new CompartmentWorkload(chart, 'albums-0', { ...ALBUMS, isolation: CompartmentIsolation.SHARED });
    new CompartmentWorkload(chart, 'albums-1', { ...ALBUMS, ports: undefined, probe: undefined, instances: 2, isolation: CompartmentIsolation.SHARED });
    new CompartmentWorkload(chart, 'album', { ...ALBUMS, instances: 2 });
  });
  const templates = podTemplates(objects);

  test('each launcher finds exactly its own anchor, and no other pod', () => {
    const launchers = launchersOf(objects);
    expect(launchers).toHaveLength(3 + 1 + 1 + 2);
    for (const launcher of launchers) {
      const selector = launcherSelector(launcher);
      const anchorName = launcher.metadata.name.replace('-launcher', '-anchor');
      const anchor = findObject(objects, 'Deployment', anchorName);
      // THEN it selects exactly the anchor's pod template, which its Deployment selects too
      expect(templates.filter((t) => matches(selector, t.labels)).map((t) => t.owner)).toEqual([`apps/${anchorName}`]);
      expect(anchor.spec.selector.matchLabels).toEqual(selector);
      expect(anchor.spec.replicas).toBe(1);
      // AND the launcher's Deployment selects its own pods only
      expect(templates.filter((t) => matches(launcher.spec.selector.matchLabels, t.labels)).map((t) => t.owner)).toEqual([`apps/${launcher.metadata.name}`]);
      // AND it looks in the anchor's namespace
      const command: string[] = launcher.spec.template.spec.containers[0].command;
      expect(command[command.indexOf('-namespace') + 1]).toBe(anchor.metadata.namespace);
    }
  });

  test("each launcher's required affinity targets the node of the same anchor", () => {
    for (const launcher of launchersOf(objects)) {
      const terms = launcher.spec.template.spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution;
      expect(terms).toEqual([{ labelSelector: { matchLabels: launcherSelector(launcher) }, topologyKey: 'kubernetes.io/hostname' }]);
    }
  });

  test('each anchor prefers the node of its own launchers', () => {
    for (const anchor of anchorsOf(objects)) {
      const [term] = anchor.spec.template.spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution;
      const owners = templates.filter((t) => matches(term.podAffinityTerm.labelSelector.matchLabels, t.labels)).map((t) => t.owner);
      expect(owners).toEqual([`apps/${anchor.metadata.name.replace('-anchor', '-launcher')}`]);
    }
  });

  test('each Service selects the anchors of its workload only', () => {
    const services = objects.filter((o) => o.kind === 'Service');
    expect(services.length).toBeGreaterThan(0);
    for (const service of services) {
      const workload = service.metadata.labels['app.kubernetes.io/name'];
      const selected = templates.filter((t) => matches(service.spec.selector, t.labels)).map((t) => t.owner);
      const anchors = anchorsOf(objects).filter((a) => a.metadata.labels['app.kubernetes.io/name'] === workload).map((a) => `apps/${a.metadata.name}`);
      expect(anchors.length).toBeGreaterThan(0);
      expect(selected).toEqual(anchors);
    }
  });

  test('the Linkerd Server selects the anchors of its workload only', () => {
    const [server] = objects.filter((o) => o.kind === 'Server');
    expect(templates.filter((t) => matches(server.spec.podSelector.matchLabels, t.labels)).map((t) => t.owner))
      .toEqual(['apps/albums-anchor-0', 'apps/albums-anchor-1', 'apps/albums-anchor-2']);
  });

  test('object names are unique per kind', () => {
    const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('every object validates; Windows pods carry no Linux-only field', () => {
    expectValidManifests(objects);
    for (const { owner, spec } of templates) {
      expect([owner, spec.os]).toEqual([owner, { name: 'windows' }]);
      expect([owner, spec.nodeSelector]).toEqual([owner, { 'kubernetes.io/os': 'windows' }]);
      for (const field of LINUX_ONLY_POD) expect([owner, spec[field]]).toEqual([owner, undefined]);
      for (const field of LINUX_ONLY_POD_SECURITY) expect([owner, spec.securityContext?.[field]]).toEqual([owner, undefined]);
      for (const container of [...spec.containers, ...spec.initContainers ?? []]) {
        for (const field of LINUX_ONLY_CONTAINER_SECURITY) expect([owner, container.securityContext?.[field]]).toEqual([owner, undefined]);
      }
    }
  });
});

describe('anchor and launcher pods', () => {
  const objects = synthWorkload({ ...ALBUMS, meshed: true });
  const anchor = findObject(objects, 'Deployment', 'albums-anchor-0');
  const launcher = findObject(objects, 'Deployment', 'albums-launcher-0');
  const anchorPod = anchor.spec.template;
  const launcherPod = launcher.spec.template;

  test('the anchor: a meshed pause pod on Windows nodes, tolerating the K2s taint, not HostProcess', () => {
    expect(anchorPod.metadata.annotations).toEqual({ 'linkerd.io/inject': 'enabled' });
    expect(anchorPod.spec.containers.map((c: any) => c.image)).toEqual([DEFAULT_PAUSE_IMAGE]);
    expect(DEFAULT_PAUSE_IMAGE).toBe('shsk2s.azurecr.io/pause-win:v1.5.0');
    expect(anchorPod.spec.tolerations).toEqual([{ key: 'OS', operator: 'Equal', value: 'Windows', effect: 'NoSchedule' }]);
    expect(anchorPod.spec.hostNetwork).toBeUndefined();
    expect(anchorPod.spec.securityContext).toBeUndefined();
    expect(anchorPod.spec.serviceAccountName).toBe('albums-anchor-0');
    expect(findObject(objects, 'ServiceAccount', 'albums-anchor-0')).toBeDefined();
    expect(anchor.spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('the anchor declares the ports and is ready only when the executable answers', () => {
    expect(anchorPod.spec.containers[0].ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'syslog', containerPort: 5140, protocol: 'UDP' },
      { name: 'probe', containerPort: 8081, protocol: 'TCP' },
    ]);
    expect(anchorPod.spec.containers[0].readinessProbe).toEqual({
      httpGet: { path: '/health/readiness', port: 8081, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3,
    });
  });

  test('the launcher: HostProcess as NT AUTHORITY\\SYSTEM with host network, never meshed', () => {
    expect(launcherPod.spec.securityContext).toEqual({ windowsOptions: { hostProcess: true, runAsUserName: 'NT AUTHORITY\\SYSTEM' } });
    expect(launcherPod.spec.hostNetwork).toBe(true);
    expect(launcherPod.metadata.annotations).toEqual({ 'linkerd.io/inject': 'disabled' });
    expect(launcherPod.spec.containers[0].image).toBe('mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0');
    expect(launcherPod.spec.automountServiceAccountToken).toBe(false);
    expect(launcherPod.spec.enableServiceLinks).toBe(false);
    expect(launcher.spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('the launcher runs cplauncher without a shell: selector, namespace, timeout, then -- exe and args', () => {
    expect(launcherPod.spec.containers[0].command).toEqual([
      'C:\\k\\bin\\cni\\cplauncher.exe',
      '-label', `${ANCHOR_LABEL}=albums.0`,
      '-namespace', 'apps',
      '-label-timeout', '60s',
      '-wait-tree',
      '--',
      'C:\\apps\\albums\\albumswin.exe', '--config', 'C:\\apps\\albums\\prod config.json',
    ]);
    expect(launcherPod.spec.containers[0].args).toBeUndefined();
    expect(launcherPod.spec.containers[0].env).toEqual([{ name: 'RESOURCE', value: 'albums' }, { name: 'LOG_LEVEL', value: 'info' }]);
  });

  test('the launcher probes its executable through its anchor, so it restarts when the anchor is replaced', () => {
    const viaAnchor = { httpGet: { host: 'anchor-0.albums-anchors.apps.svc.cluster.local', path: '/health/readiness', port: 8081, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 3 };
    expect(launcherPod.spec.containers[0].livenessProbe).toEqual({ ...viaAnchor, failureThreshold: 3 });
    expect(launcherPod.spec.containers[0].startupProbe).toEqual({ ...viaAnchor, failureThreshold: 30 });
    const dns = findObject(objects, 'Service', 'albums-anchors');
    expect(dns.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(anchorPod.spec).toMatchObject({ hostname: 'anchor-0', subdomain: 'albums-anchors' });
  });

  test('the launcher mounts the folders of cplauncher, the executable and the logs', () => {
    expect(launcherPod.spec.volumes).toEqual([
      { name: 'launcher', hostPath: { path: 'C:\\k\\bin\\cni', type: 'Directory' } },
      { name: 'app', hostPath: { path: 'C:\\apps\\albums', type: 'Directory' } },
      { name: 'logs', hostPath: { path: 'C:\\var\\log', type: 'DirectoryOrCreate' } },
    ]);
    expect(launcherPod.spec.containers[0].volumeMounts).toEqual([
      { name: 'launcher', mountPath: 'C:\\k\\bin\\cni', readOnly: true },
      { name: 'app', mountPath: 'C:\\apps\\albums' },
      { name: 'logs', mountPath: 'C:\\var\\log' },
    ]);
  });

  test('the Service exposes the declared ports on the anchors', () => {
    expect(findObject(objects, 'Service', 'albums').spec.ports).toEqual([
      { name: 'http', port: 8080, targetPort: 8080, protocol: 'TCP' },
      { name: 'syslog', port: 5140, targetPort: 5140, protocol: 'UDP' },
    ]);
  });

  test('RBAC: the K2s SYSTEM user may get and list pods in the namespace, nothing else', () => {
    expect(findObject(objects, 'Role', 'albums-launcher').rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]);
    const binding = findObject(objects, 'RoleBinding', 'albums-launcher');
    expect(binding.metadata.namespace).toBe('apps');
    expect(binding.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'k2s-NT-AUTHORITY-SYSTEM' }]);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'albums-launcher' });
  });

  test('meshed: kubelet may reach the probe port of the anchors, and only that port', () => {
    const server = findObject(objects, 'Server', 'albums-probe');
    expect(server.apiVersion).toBe('policy.linkerd.io/v1beta3');
    expect(server.spec).toEqual({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'albums', 'app.kubernetes.io/component': 'compartment-anchor' } }, port: 8081, accessPolicy: 'deny' });
    expect(findObject(objects, 'NetworkAuthentication', 'albums-kubelet').spec).toEqual({ networks: [{ cidr: '0.0.0.0/0' }, { cidr: '::/0' }] });
    expect(findObject(objects, 'AuthorizationPolicy', 'albums-kubelet-probes').spec).toEqual({
      targetRef: { group: 'policy.linkerd.io', kind: 'Server', name: 'albums-probe' },
      requiredAuthenticationRefs: [{ group: 'policy.linkerd.io', kind: 'NetworkAuthentication', name: 'albums-kubelet' }],
    });
  });

  test('kubectl apply order: identities, RBAC, mesh policy, Services, then the pods', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/albums-anchor-0', 'Role/albums-launcher', 'RoleBinding/albums-launcher',
      'Server/albums-probe', 'NetworkAuthentication/albums-kubelet', 'AuthorizationPolicy/albums-kubelet-probes',
      'Service/albums', 'Service/albums-anchors', 'Deployment/albums-anchor-0', 'Deployment/albums-launcher-0',
    ]);
  });
});

describe('options', () => {
  test('unmeshed: no Linkerd objects, injection disabled on the anchors, no token in the pause pods', () => {
    const objects = synthWorkload(ALBUMS);
    expect(objects.filter((o) => o.apiVersion.startsWith('policy.linkerd.io'))).toEqual([]);
    const anchorPod = findObject(objects, 'Deployment', 'albums-anchor-0').spec.template;
    expect(anchorPod.metadata.annotations).toEqual({ 'linkerd.io/inject': 'disabled' });
    expect(anchorPod.spec.automountServiceAccountToken).toBe(false);
  });

  test('shared: one anchor, one launcher Deployment with a replica per instance', () => {
    const objects = synthWorkload({ executable: 'C:\\apps\\worker\\worker.exe', instances: 3, isolation: CompartmentIsolation.SHARED, meshed: true });
    expect(anchorsOf(objects).map((a) => a.metadata.name)).toEqual(['albums-anchor']);
    const [launcher] = launchersOf(objects);
    expect(launcher.metadata.name).toBe('albums-launcher');
    expect(launcher.spec.replicas).toBe(3);
    expect(launcherSelector(launcher)).toEqual({ [ANCHOR_LABEL]: 'albums' });
    expect(objects.filter((o) => o.kind === 'Service')).toEqual([]);
  });

  test('custom: launcher layout, user, images, taints, timeout, resources, extra folders and flags', () => {
    const objects = synthWorkload({
      ...ALBUMS,
      name: 'legacy',
      launcher: { installDir: 'D:\\k2s\\', logDir: 'D:\\var\\log', waitForProcessTree: false, extraArgs: ['-self-env', '-no-inject'] },
      launcherUser: 'system:node-launcher',
      labelTimeout: Duration.minutes(2),
      pauseImage: 'mcr.microsoft.com/oss/kubernetes/pause:3.9',
      windowsTaints: [{ key: 'os', value: 'windows', effect: 'NoSchedule' }, { key: 'dedicated', effect: 'NoExecute' }],
      hostPaths: ['C:\\ProgramData\\Albums', 'c:\\apps\\ALBUMS'],
      probe: { port: 8081, period: Duration.seconds(5), timeout: Duration.seconds(2), failureThreshold: 6, startupTimeout: Duration.minutes(1) },
      launcherLiveness: false,
      resources: { requests: { cpu: k8s.Quantity.fromString('500m') }, limits: { memory: k8s.Quantity.fromString('1Gi') } },
    });
    const launcher = findObject(objects, 'Deployment', 'legacy-launcher-0').spec.template.spec;
    expect(launcher.containers[0].command.slice(0, 8)).toEqual([
      'D:\\k2s\\bin\\cni\\cplauncher.exe', '-label', `${ANCHOR_LABEL}=legacy.0`, '-namespace', 'apps', '-label-timeout', '120s', '-self-env',
    ]);
    expect(launcher.containers[0].command[8]).toBe('-no-inject');
    expect(launcher.tolerations).toEqual([
      { key: 'os', operator: 'Equal', value: 'windows', effect: 'NoSchedule' },
      { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' },
    ]);
    // the executable's folder is mounted once, whatever its case
    expect(launcher.volumes.map((v: any) => v.hostPath.path)).toEqual(['D:\\k2s\\bin\\cni', 'C:\\apps\\albums', 'D:\\var\\log', 'C:\\ProgramData\\Albums']);
    expect(launcher.containers[0].resources).toEqual({ requests: { cpu: '500m' }, limits: { memory: '1Gi' } });
    expect(launcher.containers[0].livenessProbe).toBeUndefined();
    expect(launcher.containers[0].startupProbe).toBeUndefined();
    const anchor = findObject(objects, 'Deployment', 'legacy-anchor-0').spec.template.spec;
    expect(anchor.containers[0].image).toBe('mcr.microsoft.com/oss/kubernetes/pause:3.9');
    expect(anchor.containers[0].readinessProbe).toEqual({ tcpSocket: { port: 8081 }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 6 });
    expect(anchor.hostname).toBeUndefined();
    expect(objects.find((o) => o.metadata.name === 'legacy-anchors')).toBeUndefined();
    expect(findObject(objects, 'RoleBinding', 'legacy-launcher').subjects[0].name).toBe('system:node-launcher');
    expectValidManifests(objects);
  });

  test('createRbac false leaves RBAC to the cluster; the chart namespace is the default', () => {
    const scoped = new Chart(Testing.app(), 'scoped', { namespace: 'legacy-apps' });
    new CompartmentWorkload(scoped, 'albums', { ...ALBUMS, namespace: undefined, createRbac: false });
    const objects = Testing.synth(scoped);
    expect(objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding')).toEqual([]);
    const command: string[] = launchersOf(objects)[0].spec.template.spec.containers[0].command;
    expect(command[command.indexOf('-namespace') + 1]).toBe('legacy-apps');
    expect(new Set(objects.map((o) => o.metadata.namespace))).toEqual(new Set(['legacy-apps']));
  });

  test('a probe on an app port, meshed: kubelet networks required, meshed clients keep access', () => {
    const objects = synthWorkload({ ...ALBUMS, meshed: true, probe: { port: 8080, path: '/health', kubeletNetworks: ['172.20.1.0/24', '172.19.1.1'] } });
    expect(findObject(objects, 'Server', 'albums-probe').spec).toMatchObject({ port: 8080, accessPolicy: 'all-authenticated' });
    expect(findObject(objects, 'NetworkAuthentication', 'albums-kubelet').spec.networks).toEqual([{ cidr: '172.20.1.0/24' }, { cidr: '172.19.1.1/32' }]);
    expect(findObject(objects, 'Deployment', 'albums-anchor-0').spec.template.spec.containers[0].ports.map((p: any) => p.name)).toEqual(['http', 'syslog']);
    expectValidManifests(objects);
  });

  test('an executable on a UNC share runs from there, with no hostPath for its folder', () => {
    const objects = synthWorkload({ ...ALBUMS, executable: '\\\\fileserver\\apps\\albums\\albumswin.exe' });
    const launcher = findObject(objects, 'Deployment', 'albums-launcher-0').spec.template.spec;
    expect(launcher.containers[0].command).toContain('\\\\fileserver\\apps\\albums\\albumswin.exe');
    expect(launcher.volumes.map((v: any) => v.name)).toEqual(['launcher', 'logs']);
  });

  test('an executable in a drive root gets no hostPath for the whole drive', () => {
    const objects = synthWorkload({ ...ALBUMS, executable: 'D:\\albums.exe' });
    expect(findObject(objects, 'Deployment', 'albums-launcher-0').spec.template.spec.volumes.map((v: any) => v.name)).toEqual(['launcher', 'logs']);
  });

  test('anchorSelector names the label each instance launcher uses', () => {
    const chart = Testing.chart();
    const perInstance = new CompartmentWorkload(chart, 'albums', { ...ALBUMS, instances: 2 });
    const shared = new CompartmentWorkload(chart, 'worker', { executable: 'C:\\w\\w.exe', instances: 2, isolation: CompartmentIsolation.SHARED });
    expect(perInstance.anchorSelector(1)).toEqual({ [ANCHOR_LABEL]: 'albums.1' });
    expect(shared.anchorSelector(1)).toEqual({ [ANCHOR_LABEL]: 'worker' });
    expect(() => perInstance.anchorSelector(2)).toThrow('test/albums: index 2 must be a whole number from 0 to 1');
    expect(perInstance.anchors).toHaveLength(2);
    expect(shared.launchers).toHaveLength(1);
  });
});

describe('firewall exemptions for the UDP ports', () => {
  test('firewallRules: nodeIngress allow of the declared UDP ports to the pod networks', () => {
    const workload = new CompartmentWorkload(Testing.chart(), 'albums', {
      ...ALBUMS, ports: [...ALBUMS.ports!, { name: 'discovery', port: 1900, protocol: Protocol.UDP }],
    });
    const [rule] = workload.firewallRules(['172.20.0.0/16']);
    expect(rule.id).toBe('albums-udp');
    expect(rule.props).toMatchObject({
      action: RuleAction.ALLOW, protocol: Protocol.UDP, scopes: [TrafficScope.NODE_INGRESS], destinations: ['172.20.0.0/16'],
    });
    expect(rule.props.destinationPorts!.map(String)).toEqual(['1900', '5140']);
    expect(workload.udpPorts).toEqual([5140, 1900]);
  });

  test('addToFirewall: the rule reaches the Windows scripts of a K2s NodeFirewall, not the Linux ones', () => {
    // GIVEN
    const chart = Testing.chart();
    const firewall = new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s() });
    const workload = new CompartmentWorkload(chart, 'albums', ALBUMS);
    // WHEN
    expect(workload.addToFirewall(firewall)).toEqual(['albums-udp']);
    // THEN the policy compiles, and the rule is rendered for the hosts
    const objects = Testing.synth(chart);
    const windows = findObject(objects, 'ConfigMap', 'hostnet-windows-scripts').data['apply.ps1'];
    const linux = findObject(objects, 'ConfigMap', 'hostnet-linux-scripts').data['apply.sh'];
    expect(windows).toContain('albums-udp');
    expect(windows).toMatch(/LocalAddress\s+= @\('0\.0\.0\.0-172\.19\.255\.255', '172\.21\.0\.0-255\.255\.255\.255'\)\s+LocalPort\s+= @\('5140'\)/);
    // the executables run on Windows nodes only
    expect(linux).not.toContain('albums-udp');
  });

  test('no UDP port, no rule', () => {
    const chart = Testing.chart();
    const firewall = new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s() });
    const workload = new CompartmentWorkload(chart, 'albums', { ...ALBUMS, ports: [{ name: 'http', port: 8080 }] });
    expect(workload.addToFirewall(firewall)).toEqual([]);
    expect(firewall.policy.rules).toEqual([]);
  });
});

describe('refused', () => {
  const refuses = (props: Partial<CompartmentWorkloadProps>, message: string, id = 'albums') => {
    expect(() => new CompartmentWorkload(Testing.chart(), id, { ...ALBUMS, ...props } as CompartmentWorkloadProps)).toThrow(message);
  };

  test.each<[string, Partial<CompartmentWorkloadProps>, string]>([
    ['a relative executable', { executable: 'apps\\albums.exe' }, 'test/albums: executable "apps\\\\albums.exe" is not an absolute Windows path (drive letter or UNC); use one like C:\\apps\\foo\\foo.exe or \\\\server\\share\\foo.exe'],
    ['a Linux executable', { executable: '/usr/bin/albums' }, 'test/albums: executable "/usr/bin/albums" must use backslashes, like C:\\apps\\foo\\foo.exe or \\\\server\\share\\foo.exe'],
    ['forward slashes', { executable: 'C:/apps/albums.exe' }, 'test/albums: executable "C:/apps/albums.exe" must use backslashes'],
    ['a script', { executable: 'C:\\apps\\start.ps1' }, 'test/albums: executable "C:\\\\apps\\\\start.ps1" must name an .exe file (the launcher starts it with CreateProcess, not a shell)'],
    ['a quoted path', { executable: '"C:\\apps\\albums.exe"' }, 'test/albums: executable "\\"C:\\\\apps\\\\albums.exe\\"" is not an absolute Windows path'],
    ['a parent segment', { executable: 'C:\\apps\\..\\albums.exe' }, 'test/albums: executable "C:\\\\apps\\\\..\\\\albums.exe" has a ".." segment; write the path without it'],
    ['a newline in a path', { executable: 'C:\\apps\nx\\albums.exe' }, 'with a character Windows forbids in paths'],
    ['a UNC share without a file', { executable: '\\\\server\\albums.exe' }, 'test/albums: executable "\\\\\\\\server\\\\albums.exe" is a UNC path without \\\\server\\share\\ before the file'],
    ['a newline in an argument', { args: ['--name', 'a\nb'] }, 'test/albums: args[1] "a\\nb" has a control character (newline, tab, NUL...); pass each argument as one line'],
    ['a quote in an argument', { args: ['--name="x"'] }, 'test/albums: args[0] "--name=\\"x\\"" has a double quote; leave quoting to Windows'],
    ['a bad env name', { env: { 'MY VAR': 'x' } }, 'test/albums: env "MY VAR" is not a valid environment variable name'],
    ['env names differing in case', { env: { Path: 'a', PATH: 'b' } }, 'test/albums: env "PATH" names the same variable as "Path": Windows environment names ignore case'],
    ['the launcher\'s own variable', { env: { compartment_id_attach: '3' } }, 'test/albums: env "compartment_id_attach" is set by cplauncher for the executable; choose another name'],
    ['a NUL in an env value', { env: { A: 'x\0y' } }, 'test/albums: env.A "x\\u0000y" has a NUL character'],
    ['no instance', { instances: 0 }, 'test/albums: instances 0 must be a whole number from 1 to 100'],
    ['a fraction of an instance', { instances: 1.5 }, 'test/albums: instances 1.5 must be a whole number from 1 to 100'],
    ['an unknown isolation', { isolation: 'pod' as CompartmentIsolation }, 'test/albums: isolation "pod" must be one of perInstance, shared'],
    ['ports on a shared compartment of several', { instances: 2, isolation: CompartmentIsolation.SHARED, probe: undefined }, 'test/albums: ports ["http","syslog"] cannot be declared with isolation shared and 2 instances: every instance would listen on them in one compartment; use isolation perInstance'],
    ['a probe on a shared compartment of several', { instances: 2, isolation: CompartmentIsolation.SHARED, ports: undefined }, 'test/albums: probe.port 8081 cannot be checked with isolation shared and 2 instances'],
    ['a Service without ports', { ports: undefined, service: true }, 'test/albums: service true needs ports to expose; declare ports, or leave service unset'],
    ['launcher liveness without a probe', { probe: undefined, launcherLiveness: true }, 'test/albums: launcherLiveness true needs a probe'],
    ['a meshed probe on an app port, open to all', { meshed: true, probe: { port: 8080 } }, 'test/albums: probe.port 8080 is also a declared port: authorizing kubelet there from every network would open the port to anyone without mTLS'],
    ['kubelet networks when unmeshed', { probe: { port: 8081, kubeletNetworks: ['10.0.0.0/8'] } }, 'test/albums: probe.kubeletNetworks ["10.0.0.0/8"] only applies to meshed workloads'],
    ['a bad kubelet network', { meshed: true, probe: { port: 8081, kubeletNetworks: ['10.0.0.1/8'] } }, 'test/albums: probe.kubeletNetworks[0] "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)'],
    ['a probe port out of range', { probe: { port: 70000 } }, 'test/albums: probe.port 70000 must be a whole number from 1 to 65535'],
    ['a probe path with a space', { probe: { port: 8081, path: '/health check' } }, 'test/albums: probe.path "/health check" must be an absolute HTTP path'],
    ['a probe timeout above its period', { probe: { port: 8081, period: Duration.seconds(5), timeout: Duration.seconds(6) } }, 'test/albums: probe.timeout "6 seconds" must be whole seconds from 1s to the probe period'],
    ['a fractional period', { probe: { port: 8081, period: Duration.millis(1500) } }, 'test/albums: probe.period "1 second 500 millis" must be whole seconds from 1s to 1h'],
    ['a bad port name', { ports: [{ name: 'HTTP', port: 8080 }] }, 'test/albums: ports[0].name "HTTP" must be an IANA service name'],
    ['a port name that is too long', { ports: [{ name: 'http-management-port', port: 8080 }] }, 'test/albums: ports[0].name "http-management-port" must be an IANA service name'],
    ['a port twice', { ports: [{ name: 'a', port: 8080 }, { name: 'b', port: 8080 }] }, 'test/albums: ports[1].port 8080 is declared twice for tcp'],
    ['a port name twice', { ports: [{ name: 'a', port: 8080 }, { name: 'a', port: 8081 }] }, 'test/albums: ports[1].name "a" is declared twice; port names must be unique'],
    ['a port zero', { ports: [{ name: 'a', port: 0 }] }, 'test/albums: ports[0].port 0 must be a whole number from 1 to 65535'],
    ['an ICMP port', { ports: [{ name: 'a', port: 1, protocol: Protocol.ICMP }] }, 'test/albums: ports[0].protocol "icmp" must be tcp or udp'],
    ['a namespace with capitals', { namespace: 'Apps' }, 'test/albums: namespace "Apps" must be a DNS-1123 label'],
    ['a pause image tagged latest', { pauseImage: 'mcr.microsoft.com/oss/kubernetes/pause:latest' }, 'test/albums: pauseImage "mcr.microsoft.com/oss/kubernetes/pause:latest" tag latest names no release and moves with every push; use a release tag or a digest'],
    ['an untagged HostProcess image', { hostProcessImage: 'windows-host-process-containers-base-image' }, 'test/albums: hostProcessImage "windows-host-process-containers-base-image" has neither a tag nor a digest, so it means latest'],
    ['a pause image with a short digest', { pauseImage: 'mcr.microsoft.com/oss/kubernetes/pause@sha256:abc' }, 'test/albums: pauseImage "mcr.microsoft.com/oss/kubernetes/pause@sha256:abc" digest must be sha256: followed by 64 lowercase hex digits'],
    ['a HostProcess image with a URL scheme', { hostProcessImage: 'https://mcr.microsoft.com/oss/kubernetes/pause:3.9' }, 'test/albums: hostProcessImage "https://mcr.microsoft.com/oss/kubernetes/pause:3.9" must not start with a URL scheme'],
    ['a relative install folder', { launcher: { installDir: 'k2s' } }, 'test/albums: launcher.installDir "k2s" is not an absolute Windows path'],
    ['a launcher that is not an exe', { launcher: { path: 'C:\\k\\bin\\cni\\cplauncher' } }, 'test/albums: launcher.path "C:\\\\k\\\\bin\\\\cni\\\\cplauncher" must name an .exe file'],
    ['a flag the construct sets', { launcher: { extraArgs: ['--namespace=other'] } }, 'test/albums: launcher.extraArgs[0] "--namespace=other" is set by this construct'],
    ['a dry run', { launcher: { extraArgs: ['-dry-run'] } }, 'test/albums: launcher.extraArgs[0] "-dry-run" is set by this construct'],
    ['a separator in the flags', { launcher: { extraArgs: ['--'] } }, 'test/albums: launcher.extraArgs[0] "--" is set by this construct'],
    ['a UNC host path', { hostPaths: ['\\\\nas\\share\\data'] }, 'test/albums: hostPaths[0] "\\\\\\\\nas\\\\share\\\\data" must be a local folder: a hostPath volume cannot be a UNC share'],
    ['a drive root', { hostPaths: ['D:\\'] }, 'test/albums: hostPaths[0] "D:\\\\" is a drive root; name a folder'],
    ['a label timeout of zero', { labelTimeout: Duration.seconds(0) }, 'test/albums: labelTimeout "0 seconds" must be whole seconds from 1s to 1h'],
    ['a user with a newline', { launcherUser: 'system\nuser' }, 'test/albums: launcherUser "system\\nuser" must be a Kubernetes user name'],
    ['a bad cluster domain', { clusterDomain: 'Cluster.Local' }, 'test/albums: clusterDomain "Cluster.Local" must be a DNS domain like cluster.local'],
  ])('%s', (_, props, message) => refuses(props, message));

  test.each([
    ['Albums', 'test/Albums: name "Albums" must be 1-40 lowercase letters, digits or dashes, starting with a letter and ending with a letter or digit (it becomes object names and label values); set props.name'],
    ['0albums', 'test/0albums: name "0albums" must be 1-40'],
    ['albums.v2', 'test/albums.v2: name "albums.v2" must be 1-40'],
    ['a'.repeat(41), 'must be 1-40 lowercase letters'],
  ])('a name that makes invalid labels or object names: %s', (id, message) => {
    refuses({}, message, id);
  });
});

test('the construct tree: one child per object, ids stable', () => {
  const chart = Testing.chart();
  const workload: Construct = new CompartmentWorkload(chart, 'albums', { ...ALBUMS, meshed: true, instances: 2 });
  expect(workload.node.children.map((c) => c.node.id)).toEqual([
    'Identity-0', 'Identity-1', 'LauncherRole', 'LauncherRoleBinding', 'Mesh', 'Service', 'AnchorDns',
    'Anchor-0', 'Launcher-0', 'Anchor-1', 'Launcher-1',
  ]);
});

describe('duplicate names (issue 11)', () => {
  test('two CompartmentWorkloads with one name in one namespace are refused, naming both', () => {
    const chart = Testing.chart();
    const props = { executable: 'C:\\apps\\a.exe', ports: [{ name: 'http', port: 8080 }], namespace: 'apps' };
    new CompartmentWorkload(chart, 'albums', props);
    expect(() => new CompartmentWorkload(chart, 'albums-again', { ...props, name: 'albums' }))
      .toThrow('test/albums-again: name "albums" in namespace "apps" is already the name of the CompartmentWorkload at test/albums; give each workload a name of its own');
  });
});
