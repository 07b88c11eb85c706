import { Chart, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { ClusterConfig } from './cluster-config';
import { IptablesMode, NodeFirewall } from '../constructs/node-firewall';
import { DnsResolver } from '../policy/dns-resolver';

/** The manifests of one cluster, as the synth app writes them to dist/. */
export class HostnetChart extends Chart {
  public readonly firewall: NodeFirewall;

  public constructor(scope: Construct, id: string, config: ClusterConfig) {
    // names users recognise in kube-system-like listings: no hash suffixes
    super(scope, id, { disableResourceNameHashes: true });
    this.firewall = new NodeFirewall(this, 'NodeFirewall', {
      profile: config.profile,
      name: config.name,
      createNamespace: config.createNamespace,
      allowAnyAddress: config.allowAnyAddress,
      linuxImage: config.linuxImage,
      windowsImage: config.windowsImage,
      iptablesMode: iptablesMode(config.iptablesMode),
      linuxBackend: config.linuxBackend,
      reapplyInterval: config.reapplyIntervalSeconds === undefined ? undefined : Duration.seconds(config.reapplyIntervalSeconds),
      mode: config.mode,
      driftCheckInterval: config.driftCheckIntervalSeconds === undefined ? undefined : Duration.seconds(config.driftCheckIntervalSeconds),
      maxUnavailable: config.maxUnavailable,
      minReadySeconds: config.minReadySeconds,
      checkImage: config.checkImage,
      nodeExporterImage: config.nodeExporterImage,
      metricsPort: config.metricsPort,
      metricsTextfileDirectory: config.metricsTextfileDirectory,
      grafanaDashboard: config.grafanaDashboard,
      dropLog: config.dropLog,
      windowsExporterImage: config.windowsExporterImage,
      windowsMetricsTextfileDirectory: config.windowsMetricsTextfileDirectory,
      podMonitor: config.podMonitor,
      nodeSelector: config.nodeSelector,
    });
    if (config.customResolvers.length > 0) this.firewall.dns.addResolver(DnsResolver.custom(...config.customResolvers));
    const addExemptions = () => {
      for (const exemption of config.exemptions) this.firewall.addRule(exemption.id, exemption.props);
    };
    if (config.file === undefined) addExemptions();
    else this.reportAgainst(config.file, config.exemptions.map((e) => e.id), addExemptions);
  }

  /**
   * Adds the exemptions (addRule compiles the policy with each, for every OS) so that a rule problem
   * is reported against the override file and the exemption it came from
   * (`exemptions[2].destinations …`), not against the construct path.
   */
  private reportAgainst(file: string, exemptionIds: string[], addExemptions: () => void): void {
    try {
      addExemptions();
    } catch (error) {
      const message = (error as Error).message;
      const rule = /^.*?: rule '([^']+)': (.*)$/.exec(message);
      const index = rule ? exemptionIds.indexOf(rule[1]) : -1;
      if (rule && index >= 0) throw new Error(`${file}: exemptions[${index}].${rule[2]}`);
      throw new Error(`${file}: ${message.slice(message.indexOf(': ') + 2)}`);
    }
  }
}

/** CLUSTER_CONFIG's `iptablesMode` string (auto, legacy or nft, checked when the file was read) as the enum. */
function iptablesMode(value: string | undefined): IptablesMode | undefined {
  if (value === undefined) return undefined;
  const mode = Object.values(IptablesMode).find((m) => m === value);
  if (mode === undefined) throw new Error(`iptablesMode ${JSON.stringify(value)} must be one of ${Object.values(IptablesMode).join(', ')}`);
  return mode;
}
