// The drop-log sidecar: on by default, least privilege (CAP_SYSLOG alone), off with dropLog: false
// from the library or CLUSTER_CONFIG.
import { Testing } from 'cdk8s';
import { ClusterProfiles, NodeFirewall } from '../src';
import { findObject, synthProfile } from './util/synth';

const agentPod = (objects: any[]) => findObject(objects, 'DaemonSet', 'hostnet-linux').spec.template.spec;

test('by default the Linux agent runs droplog.sh in a drop-log container holding CAP_SYSLOG and nothing else', () => {
  // GIVEN / WHEN
  const objects = synthProfile('k2s');
  // THEN
  const container = agentPod(objects).containers.find((c: any) => c.name === 'drop-log');
  expect(container.command).toEqual(['/bin/sh', '/etc/hostnet/droplog.sh']);
  expect(container.securityContext).toEqual({
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsUser: 0,
    runAsNonRoot: false,
    capabilities: { drop: ['ALL'], add: ['SYSLOG'] },
  });
  expect(container.volumeMounts.every((m: any) => m.readOnly === true)).toBe(true);
  expect(findObject(objects, 'ConfigMap', 'hostnet-linux-scripts').data['droplog.sh']).toMatch(/^#!\/bin\/sh\n# cdk8s-hostnet NodeFirewall 'hostnet': the drop log/);
});

test('dropLog: false leaves out the container and its script', () => {
  // GIVEN
  const chart = Testing.chart();
  // WHEN
  new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), dropLog: false });
  // THEN
  const objects = Testing.synth(chart);
  expect(agentPod(objects).containers.map((c: any) => c.name)).toEqual(['apply', 'metrics']);
  expect(Object.keys(findObject(objects, 'ConfigMap', 'hostnet-linux-scripts').data).sort()).toEqual(['apply.sh', 'remove.sh', 'run.sh']);
  expect(Object.keys(findObject(objects, 'ConfigMap', 'hostnet-linux-policy').data)).toEqual(['policy.json']);
});

test('CLUSTER_CONFIG dropLog: false does the same, and a non-boolean is refused naming the field', () => {
  expect(agentPod(synthProfile('k2s', { dropLog: false })).containers.map((c: any) => c.name)).toEqual(['apply', 'metrics']);
  expect(() => synthProfile('k2s', { dropLog: 'no' })).toThrow(/^test-overrides\.yaml: dropLog "no" must be true or false/);
});
