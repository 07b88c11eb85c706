/** Every metric the node agents export (README: Metrics); the dashboard may query only these. */
export const EXPORTED_METRICS = [
  'hostnet_rule_packets_total',
  'hostnet_rule_bytes_total',
  'hostnet_policy_info',
  'hostnet_apply_success',
  'hostnet_last_apply_timestamp_seconds',
  'hostnet_apply_duration_seconds',
  'hostnet_drift_repairs_total',
  'hostnet_reverts_total',
] as const;

interface Panel {
  readonly title: string;
  readonly type: 'timeseries' | 'table' | 'stat';
  readonly expr: string;
  readonly legend?: string;
  readonly unit?: string;
  readonly description: string;
}

/** What an operator asks first, in order: is it applied everywhere, what does it drop, did it drift or revert. */
const PANELS: Panel[] = [
  {
    title: 'Nodes whose last apply failed',
    type: 'stat',
    expr: 'count(hostnet_apply_success == 0) or vector(0)',
    description: 'Agents (one per node and firewall) that failed their last apply (the previous rules stay in force there; the agent log says which).',
  },
  {
    title: 'Policy per node',
    type: 'table',
    expr: 'max by (instance, firewall, policy_sha256, mode, backend, version) (hostnet_policy_info)',
    description: 'The policy each node enforces (firewall: the NodeFirewall name, empty for the default): a rollout in progress shows two hashes; a node stuck on the old one was reverted or is not Ready.',
  },
  {
    title: 'Drops per rule and node (packets/s)',
    type: 'timeseries',
    expr: 'sum by (instance, firewall, rule, direction) (rate(hostnet_rule_packets_total{action="drop"}[5m]))',
    legend: '{{instance}} {{firewall}} {{rule}} ({{direction}})',
    unit: 'pps',
    description: 'Packets the policy drops, by the rule that dropped them.',
  },
  {
    title: 'Would-drop per rule and node in audit mode (packets/s)',
    type: 'timeseries',
    expr: 'sum by (instance, firewall, rule, direction) (rate(hostnet_rule_packets_total{action="would_drop"}[5m]))',
    legend: '{{instance}} {{firewall}} {{rule}} ({{direction}})',
    unit: 'pps',
    description: 'What enforce mode would drop: run a policy in audit mode until this is what you expect.',
  },
  {
    title: 'Allowed by exemption (packets/s)',
    type: 'timeseries',
    expr: 'sum by (firewall, rule) (rate(hostnet_rule_packets_total{action="allow"}[5m]))',
    legend: '{{firewall}} {{rule}}',
    unit: 'pps',
    description: 'Traffic each exemption lets through: an exemption at zero for weeks may be one to remove.',
  },
  {
    title: 'Drift repairs (last hour)',
    type: 'timeseries',
    expr: 'sum by (instance, firewall) (increase(hostnet_drift_repairs_total[1h]))',
    legend: '{{instance}} {{firewall}}',
    description: 'Re-applies because the rules in force differed from those applied (a flush by hand, a restarted CNI).',
  },
  {
    title: 'Reverts (last hour)',
    type: 'timeseries',
    expr: 'sum by (instance, firewall) (increase(hostnet_reverts_total[1h]))',
    legend: '{{instance}} {{firewall}}',
    description: 'Policies an agent took back because they broke DNS or the API server on its node.',
  },
  {
    title: 'Seconds since the last apply',
    type: 'timeseries',
    expr: 'time() - max by (instance, firewall) (hostnet_last_apply_timestamp_seconds)',
    legend: '{{instance}} {{firewall}}',
    unit: 's',
    description: 'Grows until the next periodic re-apply; a node far above the re-apply interval has a stuck agent.',
  },
];

/** The PromQL expressions of the dashboard, for tests and for users who build their own alerts. */
export function dashboardQueries(): string[] {
  return PANELS.map((p) => p.expr);
}

/**
 * A Grafana dashboard (JSON model, schemaVersion 39) over the agents' metrics: apply failures, the
 * policy per node, drops per rule and node, would-drops in audit mode, exemptions' traffic, drift
 * repairs, reverts. The data source is a variable, so it imports into any Grafana.
 */
export function grafanaDashboard(): Record<string, unknown> {
  return {
    title: 'cdk8s-hostnet',
    uid: 'cdk8s-hostnet',
    description: 'Host firewall (cdk8s-hostnet NodeFirewall): what is applied where, what it drops, drift and reverts',
    tags: ['cdk8s-hostnet', 'firewall'],
    schemaVersion: 39,
    editable: true,
    time: { from: 'now-6h', to: 'now' },
    refresh: '1m',
    templating: {
      list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }],
    },
    panels: PANELS.map((panel, i) => ({
      id: i + 1,
      title: panel.title,
      description: panel.description,
      type: panel.type,
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
      fieldConfig: { defaults: { unit: panel.unit ?? 'short' }, overrides: [] },
      targets: [{
        refId: 'A',
        datasource: { type: 'prometheus', uid: '${datasource}' },
        expr: panel.expr,
        legendFormat: panel.legend ?? '__auto',
        instant: panel.type !== 'timeseries',
        range: panel.type === 'timeseries',
        format: panel.type === 'table' ? 'table' : 'time_series',
      }],
    })),
  };
}
