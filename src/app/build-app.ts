import { App } from 'cdk8s';
import { ClusterConfig } from './cluster-config';
import { HostnetChart } from './hostnet-chart';

/**
 * The charts of one cluster: the NodeFirewall (dist/hostnet.k8s.yaml) and nothing else. Examples
 * live in examples/, never in what every cluster applies.
 */
export function buildApp(app: App, config: ClusterConfig): { hostnet: HostnetChart } {
  return { hostnet: new HostnetChart(app, 'hostnet', config) };
}
