// The Grafana dashboard: valid JSON, PromQL that promtool accepts, and no query of a metric the
// agents do not export.
import { execFileSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Testing } from 'cdk8s';
import { ClusterProfiles, NodeFirewall } from '../../src';
import { EXPORTED_METRICS, dashboardQueries, grafanaDashboard } from '../../src/observability/dashboard';
import { expectValidManifests } from '../util/k8s-schema';
import { findObject } from '../util/synth';

describe('Grafana dashboard', () => {
  test('is a JSON model whose every panel queries through the datasource variable', () => {
    const model = JSON.parse(JSON.stringify(grafanaDashboard()));
    expect(model).toMatchObject({ uid: 'cdk8s-hostnet', schemaVersion: 39 });
    expect(model.panels.length).toBe(dashboardQueries().length);
    for (const panel of model.panels) expect(panel.targets[0]).toMatchObject({ datasource: { uid: '${datasource}' } });
  });

  test('every query names only metrics the agents export (and every exported metric is shown)', () => {
    const named = new Set(dashboardQueries().flatMap((q) => q.match(/\bhostnet_[a-z_]+/g) ?? []));
    expect([...named].filter((m) => !(EXPORTED_METRICS as readonly string[]).includes(m))).toEqual([]);
    // the bytes counter is for users' own panels; every other metric has one here
    expect(EXPORTED_METRICS.filter((m) => !named.has(m))).toEqual(['hostnet_rule_bytes_total', 'hostnet_apply_duration_seconds']);
  });

  test('every query is PromQL that promtool accepts', () => {
    // GIVEN each query as a recording rule
    const file = join(mkdtempSync(join(tmpdir(), 'hostnet-dashboard-')), 'rules.yaml');
    const rules = dashboardQueries().map((expr, i) => `      - record: hostnet:dashboard_query_${i}\n        expr: ${JSON.stringify(expr)}`);
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
    // WHEN / THEN promtool parses them (exit 0), or the test fails with its message
    expect(execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' })).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  test('grafanaDashboard: true emits it in a ConfigMap for Grafana\'s sidecar', () => {
    const chart = Testing.chart();
    new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), grafanaDashboard: true });
    const objects = Testing.synth(chart);
    const configMap = findObject(objects, 'ConfigMap', 'hostnet-dashboard');
    expect(configMap.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(configMap.data['cdk8s-hostnet.json'])).toEqual(grafanaDashboard());
    expectValidManifests(objects);
    // not by default
    const plain = Testing.chart();
    new NodeFirewall(plain, 'Firewall', { profile: ClusterProfiles.k2s() });
    expect(Testing.synth(plain).filter((o) => o.metadata.name === 'hostnet-dashboard')).toEqual([]);
  });
});
