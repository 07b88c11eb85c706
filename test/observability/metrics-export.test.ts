// How the agents' metrics leave the nodes: the windows_exporter sidecar on Windows (or the directory of
// an exporter the cluster runs), and the prometheus-operator PodMonitor over both agents, validated
// strictly against the CRD's openAPIV3Schema (crds/prometheus-operator/podmonitors.yaml).
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { ClusterProfiles, DEFAULT_WINDOWS_EXPORTER_IMAGE, NodeFirewall } from '../../src';
import { expectValidManifests, registerCrdFiles, validateManifest } from '../util/k8s-schema';
import { findObject, synthProfile, windowsScripts } from '../util/synth';
import { parsePowerShell, parseProblems } from '../windows/powershell-parser';

const CRD = join(__dirname, '..', '..', 'crds', 'prometheus-operator', 'podmonitors.yaml');

beforeAll(() => {
  expect(registerCrdFiles(CRD)).toEqual(['monitoring.coreos.com/v1 PodMonitor']);
});

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('nothing was thrown');
}

describe('Windows metrics: a windows_exporter sidecar by default', () => {
  const objects = synthProfile('k2s');
  const pod = findObject(objects, 'DaemonSet', 'hostnet-windows').spec.template.spec;
  const sidecar = pod.containers.find((c: any) => c.name === 'metrics');

  test('a pinned HostProcess windows_exporter, only its textfile collector, on metricsPort, as LOCAL SERVICE', async () => {
    expect(pod.containers.map((c: any) => c.name)).toEqual(['apply', 'metrics']);
    expect(sidecar.image).toBe(DEFAULT_WINDOWS_EXPORTER_IMAGE);
    expect(DEFAULT_WINDOWS_EXPORTER_IMAGE).toMatch(/^ghcr\.io\/prometheus-community\/windows-exporter:\d+\.\d+\.\d+$/);
    expect(sidecar.ports).toEqual([{ name: 'metrics', containerPort: 9847, protocol: 'TCP' }]);
    expect(sidecar.securityContext).toEqual({ windowsOptions: { hostProcess: true, runAsUserName: 'NT AUTHORITY\\LOCAL SERVICE' } });
    const command: string = sidecar.command[sidecar.command.length - 1];
    expect(parseProblems(await parsePowerShell(command))).toEqual([]);
    expect(command).toContain('\'--collectors.enabled=textfile\'');
    expect(command).toContain('(\'--collector.textfile.directories=\' + (Join-Path $Node \'metrics\'))');
    expect(command).toContain('\'--web.listen-address=:9847\'');
    expectValidManifests(objects);
  });

  test('run.ps1 writes into the directory the sidecar reads, lets LOCAL SERVICE read it, and opens its port', () => {
    const run = windowsScripts(objects).run;
    expect(run).toContain('$MetricsDir = if ($env:HOSTNET_METRICS_DIR) { $env:HOSTNET_METRICS_DIR } else { Join-Path $Node \'metrics\' }');
    expect(run).toContain('$MetricsPort = 9847');
    expect(run).toContain('New-Object System.Security.Principal.SecurityIdentifier -ArgumentList \'S-1-5-19\'');
    expect(run).toContain('-Direction Inbound -Action Allow -Protocol TCP -LocalPort $MetricsPort');
    // opened after the gated apply (a revert to no rules runs remove.ps1, which removes cdk8s-hostnet-* rules) ...
    expect(run.indexOf('\ntry { Open-MetricsPort }')).toBeGreaterThan(run.indexOf('\nInvoke-GatedApply\n'));
    // ... and never in remove mode, whose remove.ps1 takes it away with the rest
    const remove = windowsScripts(synthProfile('k2s', { mode: 'remove' }));
    expect(remove.run).not.toContain('\ntry { Open-MetricsPort }');
    expect(remove.remove).toContain('$_.Name -like \'cdk8s-hostnet-*\'');
  });

  test('windowsMetricsTextfileDirectory: no sidecar; the agent writes where the cluster\'s exporter reads', () => {
    const chart = Testing.chart();
    new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), windowsMetricsTextfileDirectory: 'C:\\Program Files\\windows_exporter\\textfile_inputs' });
    const out = Testing.synth(chart);
    expect(findObject(out, 'DaemonSet', 'hostnet-windows').spec.template.spec.containers.map((c: any) => c.name)).toEqual(['apply']);
    const run = findObject(out, 'ConfigMap', 'hostnet-windows-scripts').data['run.ps1'];
    expect(run).toContain('else { \'C:\\Program Files\\windows_exporter\\textfile_inputs\' }');
    expect(run).toContain('$MetricsPort = 0');
  });

  test.each([
    ['C:\\x\';Remove-Item C:\\', 'C:\\\\x\';Remove-Item C:\\\\'],
    ['/var/lib/metrics', '/var/lib/metrics'],
  ])('windowsMetricsTextfileDirectory %s is refused, naming the construct path', (value, shown) => {
    const chart = Testing.chart();
    expect(messageOf(() => new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), windowsMetricsTextfileDirectory: value })))
      .toBe(`test/Firewall: windowsMetricsTextfileDirectory "${shown}" must be an absolute Windows path of letters, digits, spaces, ".", "_" and "-", like C:\\metrics`);
  });
});

describe('PodMonitor (podMonitor: true)', () => {
  test('none by default', () => {
    expect(synthProfile('k2s').filter((o) => o.kind === 'PodMonitor')).toEqual([]);
  });

  test('selects both agents\' pods and scrapes the port both name metrics; valid against the CRD, strictly', () => {
    // GIVEN
    const objects = synthProfile('k2s', { podMonitor: true });
    // WHEN
    const monitor = findObject(objects, 'PodMonitor', 'hostnet-agents');
    // THEN
    expect(validateManifest(monitor)).toEqual([]);
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.namespace).toBe('hostnet-system');
    const port = monitor.spec.podMetricsEndpoints.map((e: any) => e.port);
    expect(port).toEqual(['metrics']);
    for (const name of ['hostnet-linux', 'hostnet-windows']) {
      const template = findObject(objects, 'DaemonSet', name).spec.template;
      for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) expect(template.metadata.labels[key]).toBe(value);
      expect(template.spec.containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.name))).toContain('metrics');
    }
    // and nothing else of the chart matches it
    const others = objects.filter((o) => o.kind === 'DaemonSet' || o.kind === 'Deployment').map((o) => o.metadata.name);
    expect(others).toEqual(['hostnet-linux', 'hostnet-windows']);
  });

  test('a misspelled field would be refused by the strict CRD schema', () => {
    const monitor = findObject(synthProfile('k2s', { podMonitor: true }), 'PodMonitor', 'hostnet-agents');
    const bad = { ...monitor, spec: { ...monitor.spec, podMetricEndpoints: monitor.spec.podMetricsEndpoints } };
    expect(validateManifest(bad).join('\n')).toContain('unknown field "podMetricEndpoints"');
  });

  test('refused when no agent has a sidecar to scrape', () => {
    const chart = Testing.chart();
    expect(messageOf(() => new NodeFirewall(chart, 'Firewall', {
      profile: ClusterProfiles.k2s(), podMonitor: true, metricsTextfileDirectory: '/var/lib/node_exporter', windowsMetricsTextfileDirectory: 'C:\\metrics',
    }))).toBe('test/Firewall: podMonitor true needs a metrics sidecar to scrape, but every agent writes into the exporter you run (metricsTextfileDirectory, windowsMetricsTextfileDirectory)');
  });

  test('CLUSTER_CONFIG podMonitor must be true or false, named with the file', () => {
    expect(messageOf(() => synthProfile('k2s', { podMonitor: 'yes' }))).toBe('test-overrides.yaml: podMonitor "yes" must be true or false');
    expect(messageOf(() => synthProfile('k2s', { windowsMetricsTextfileDirectory: 'metrics' })))
      .toBe('test-overrides.yaml: windowsMetricsTextfileDirectory "metrics" must be an absolute Windows path of letters, digits, spaces, ".", "_" and "-", like C:\\metrics');
  });
});
