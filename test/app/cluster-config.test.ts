import { writeFileSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadClusterConfig, parseClusterConfig } from '../../src/app/cluster-config';
import { RuleAction, TrafficScope } from '../../src/policy/protocol';
import { ClusterProfiles } from '../../src/profiles/cluster-profiles';

describe('cluster config (CLUSTER_CONFIG)', () => {
  test('overrides profile values and adds exemptions, infrastructure and resolvers', () => {
    // GIVEN
    const file = join(mkdtempSync(join(tmpdir(), 'hostnet-config-')), 'cluster.yaml');
    writeFileSync(file, [
      'podCidrs: [10.32.0.0/16]',
      'upstreamResolvers: [192.0.2.53]',
      'customResolvers: [192.0.2.54]',
      'infrastructure:',
      '  - { id: metallb-memberlist, protocol: udp, ports: [7946], scopes: [nodeIngress, nodeEgress], description: MetalLB memberlist }',
      'exemptions:',
      '  - { id: syslog, protocol: udp, scopes: [nodeEgress], destinations: [192.0.2.10], destinationPorts: ["514", 1000-2000], description: syslog }',
      '  - { id: wsus, protocol: udp, scopes: [nodeEgress], destinationPorts: ["8530"], nodeOs: [windows], description: Windows-only }',
      'compartmentExample: false',
    ].join('\n'));
    // WHEN
    const config = loadClusterConfig(file, ClusterProfiles.k0sCalico());
    // THEN
    expect(config.profile.podCidrs).toEqual(['10.32.0.0/16']);
    expect(config.profile.serviceCidrs).toEqual(['10.96.0.0/12']);
    expect(config.profile.infrastructure.map((i) => i.id)).toEqual(['calico-vxlan', 'metallb-memberlist']);
    expect(config.customResolvers).toEqual(['192.0.2.54']);
    expect(config.exemptions[0].props).toMatchObject({ action: RuleAction.ALLOW, scopes: [TrafficScope.NODE_EGRESS] });
    expect(config.exemptions[0].props.destinationPorts!.map(String)).toEqual(['514', '1000-2000']);
    expect(config.exemptions[1].props.nodeOs).toEqual(['windows']);
    expect(config.compartmentExample).toBe(false);
  });

  test('a file that is not YAML names the file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hostnet-config-')), 'broken.yaml');
    writeFileSync(file, 'podCidrs: [10.0.0.0/8\n');
    expect(() => loadClusterConfig(file, ClusterProfiles.k2s())).toThrow(`${file}: is not valid YAML:`);
  });

  test.each([
    [{ podCidr: ['10.0.0.0/8'] }, 'cluster.yaml: podCidr ["10.0.0.0/8"] is not a known field; known fields:'],
    [{ podCidrs: '10.0.0.0/8' }, 'cluster.yaml: podCidrs "10.0.0.0/8" must be a list of strings'],
    [{ iptablesMode: 'fast' }, 'cluster.yaml: iptablesMode "fast" must be one of auto, legacy, nft'],
    [{ reapplyIntervalSeconds: 1.5 }, 'cluster.yaml: reapplyIntervalSeconds 1.5 must be a whole number of seconds'],
    [{ exemptions: [{ id: 'x', protocol: 'udp', scopes: ['nodeEgress'] }] }, 'cluster.yaml: exemptions[0].description null is required'],
    [{ exemptions: [{ id: 'x', protocol: 'sctp', scopes: ['nodeEgress'], description: 'd' }] }, 'cluster.yaml: exemptions[0].protocol "sctp" must be one of udp, tcp, icmp, any'],
    [{ exemptions: [{ id: 'x', protocol: 'udp', scopes: ['nodeEgress'], description: 'd', destinationPorts: ['53-'] }] }, 'cluster.yaml: exemptions[0].destinationPorts[0] "53-" must be a port or a range like 1000-2000'],
    [{ exemptions: [{ id: 'x', protocol: 'udp', scopes: ['nodeEgress'], description: 'd', ports: ['53'] }] }, 'cluster.yaml: exemptions[0].ports ["53"] is not a known field'],
    [{ infrastructure: [{ id: 'x', protocol: 'udp', ports: [1], scopes: ['up'], description: 'd' }] }, 'cluster.yaml: infrastructure[0].scopes[0] "up" must be one of nodeIngress, nodeEgress, podForward'],
    [['a'], 'cluster.yaml: (document) ["a"] must be a mapping of override fields'],
  ])('refuses %j', (doc, message) => {
    expect(() => parseClusterConfig('cluster.yaml', doc, ClusterProfiles.k2s())).toThrow(message);
  });
});
