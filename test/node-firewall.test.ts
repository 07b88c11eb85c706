import { Duration, Testing } from 'cdk8s';
import { ClusterProfiles, DEFAULT_CHECK_IMAGE, DnsResolver, FirewallMode, FirewallPolicy, IptablesMode, NodeFirewall, Protocol, RuleAction, TrafficScope, PortRange } from '../src';
import { expectValidManifests } from './util/k8s-schema';
import { shellcheck } from './util/shellcheck';
import { PROFILE_NAMES, findObject, linuxScripts, synthProfile, windowsScripts } from './util/synth';

/**
 * Values the built-in profiles cannot know (a k0s host's resolvers, everything for generic), from
 * documentation ranges, so each profile's snapshot shows its own defaults for the rest.
 */
const SNAPSHOT_OVERRIDES: Record<string, Record<string, unknown>> = {
  'k2s': {},
  'k0s-kube-router': { upstreamResolvers: ['192.0.2.53'] },
  'k0s-calico': { upstreamResolvers: ['192.0.2.53'] },
  'cfke-cilium': { upstreamResolvers: ['192.0.2.53', '2001:db8::53'] },
  'generic': { podCidrs: ['10.42.0.0/16'], serviceCidrs: ['10.43.0.0/16'], clusterDnsIp: '10.43.0.10', upstreamResolvers: ['192.0.2.53'] },
};

describe.each(PROFILE_NAMES)('synth app, profile %s', (profile) => {
  const objects = synthProfile(profile, SNAPSHOT_OVERRIDES[profile]);

  test('full output snapshot', () => {
    expect(objects).toMatchSnapshot();
  });

  test('every object validates strictly against Kubernetes 1.28', () => {
    expectValidManifests(objects);
  });

  test('every generated script passes shellcheck as POSIX sh', () => {
    const scripts = linuxScripts(objects);
    for (const [name, text] of Object.entries(scripts)) expect(shellcheck(text, name)).toEqual([]);
  });

  test('kubectl apply order: the namespace first, each DaemonSet after its scripts', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds[0]).toBe('Namespace/hostnet-system');
    for (const ds of objects.filter((o) => o.kind === 'DaemonSet')) {
      expect(kinds.indexOf(`ConfigMap/${ds.metadata.name}-scripts`)).toBeGreaterThan(0);
      expect(kinds.indexOf(`ConfigMap/${ds.metadata.name}-scripts`)).toBeLessThan(kinds.indexOf(`DaemonSet/${ds.metadata.name}`));
    }
  });

  test('one agent per node OS the profile has', () => {
    const expected = profile === 'k2s' ? ['hostnet-linux', 'hostnet-windows'] : ['hostnet-linux'];
    expect(objects.filter((o) => o.kind === 'DaemonSet').map((o) => o.metadata.name)).toEqual(expected);
  });
});

describe('Linux DaemonSet', () => {
  const objects = synthProfile('k2s');
  const ds = findObject(objects, 'DaemonSet', 'hostnet-linux');
  const pod = ds.spec.template.spec;
  const container = pod.containers[0];

  test('least privilege: capabilities instead of privileged, no hostPID, no API token', () => {
    expect(container.securityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsUser: 0,
      runAsNonRoot: false,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] },
    });
    expect(pod.hostPID).toBeUndefined();
    expect(pod.hostNetwork).toBe(true);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(container.resources.requests).toEqual({ cpu: '10m', memory: '32Mi' });
  });

  test('runs on every Linux node, whatever its taints, as node-critical, with a release-tagged image', () => {
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(container.image).toBe('registry.k8s.io/build-image/distroless-iptables:v0.9.6');
    expect(container.command).toEqual(['/bin/sh', '/etc/hostnet/run.sh']);
  });

  test.each([
    ['by default', {}, 'auto'],
    ['from CLUSTER_CONFIG', { iptablesMode: 'legacy' }, 'legacy'],
  ])('iptablesMode %s reaches the agent as HOSTNET_IPTABLES_MODE', (_, overrides, expected) => {
    // WHEN
    const agent = findObject(synthProfile('k2s', overrides), 'DaemonSet', 'hostnet-linux').spec.template.spec.containers[0];
    // THEN
    expect(agent.env).toContainEqual({ name: 'HOSTNET_IPTABLES_MODE', value: expected });
  });

  test('names users recognise, recommended labels', () => {
    expect(ds.metadata.name).toBe('hostnet-linux');
    expect(ds.metadata.namespace).toBe('hostnet-system');
    expect(ds.metadata.labels['app.kubernetes.io/part-of']).toBe('cdk8s-hostnet');
  });

  test('rolls when the policy changes', () => {
    const hash = (objs: any[]) => findObject(objs, 'DaemonSet', 'hostnet-linux').spec.template.metadata.annotations['hostnet.cdk8s.io/policy-sha256'];
    const changed = synthProfile('k2s', {
      exemptions: [{ id: 'ntp', protocol: 'udp', scopes: ['nodeEgress'], destinationPorts: ['123'], description: 'NTP' }],
    });
    expect(hash(objects)).toMatch(/^[0-9a-f]{64}$/);
    expect(hash(changed)).not.toEqual(hash(objects));
    expect(hash(synthProfile('k2s'))).toEqual(hash(objects));
  });
});

describe('Windows DaemonSet (k2s)', () => {
  const objects = synthProfile('k2s');
  const ds = findObject(objects, 'DaemonSet', 'hostnet-windows');
  const pod = ds.spec.template.spec;
  const container = pod.containers[0];
  /** Fields the API server rejects, or ignores, for pods with spec.os.name windows. */
  const LINUX_ONLY_POD = ['seLinuxOptions', 'seccompProfile', 'runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup', 'fsGroupChangePolicy', 'sysctls', 'supplementalGroups'];
  const LINUX_ONLY_CONTAINER = ['seLinuxOptions', 'seccompProfile', 'capabilities', 'readOnlyRootFilesystem', 'privileged', 'allowPrivilegeEscalation', 'procMount', 'runAsUser', 'runAsGroup', 'runAsNonRoot'];

  test('a HostProcess pod as NT AUTHORITY\\SYSTEM on Windows nodes, tolerating the K2s taint', () => {
    expect(pod.os).toEqual({ name: 'windows' });
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'windows' });
    expect(pod.securityContext).toEqual({ windowsOptions: { hostProcess: true, runAsUserName: 'NT AUTHORITY\\SYSTEM' } });
    expect(pod.hostNetwork).toBe(true);
    expect(pod.tolerations).toEqual([{ key: 'OS', operator: 'Equal', value: 'Windows', effect: 'NoSchedule' }]);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(container.image).toBe('mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0');
    expect(container.command.slice(-1)[0]).toBe("& (Join-Path $env:CONTAINER_SANDBOX_MOUNT_POINT 'hostnet/run.ps1'); exit $LASTEXITCODE");
  });

  test('no Linux-only securityContext field anywhere', () => {
    for (const field of LINUX_ONLY_POD) expect(pod.securityContext).not.toHaveProperty(field);
    for (const field of LINUX_ONLY_CONTAINER) expect(container.securityContext ?? {}).not.toHaveProperty(field);
    expect(pod.hostPID).toBeUndefined();
  });

  test('the Windows scripts reach the ConfigMap and roll the DaemonSet', () => {
    const scripts = windowsScripts(objects);
    expect(scripts.apply).toContain("$Group = 'cdk8s-hostnet'");
    expect(scripts.apply).not.toMatch(/-Group\s+'?k2s/);
    expect(ds.spec.template.metadata.annotations['hostnet.cdk8s.io/policy-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('NodeFirewall in a user app', () => {
  test('rules added after construction are rendered (lazily)', () => {
    // GIVEN
    const chart = Testing.chart();
    const firewall = new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), reapplyInterval: Duration.minutes(1) });
    // WHEN
    firewall.addRule('ntp', {
      action: RuleAction.ALLOW,
      protocol: Protocol.UDP,
      scopes: [TrafficScope.NODE_EGRESS],
      destinations: ['192.0.2.123'],
      destinationPorts: [PortRange.of(123)],
      description: 'NTP to the lab clock',
    });
    // THEN
    const apply = linuxScripts(Testing.synth(chart)).apply;
    expect(apply).toContain('-A HOSTNET-OUTPUT -p udp -d 192.0.2.123 -m udp --dport 123 -m comment --comment ntp -j RETURN');
    expect(linuxScripts(Testing.synth(chart)).run).toContain('reapply_every="${HOSTNET_REAPPLY_SECONDS:-60}"');
  });

  test('iptablesMode is an enum: IptablesMode.NFT pins the agent to iptables-nft', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), iptablesMode: IptablesMode.NFT });
    // THEN
    const agent = findObject(Testing.synth(chart), 'DaemonSet', 'hostnet-linux').spec.template.spec.containers[0];
    expect(agent.env).toContainEqual({ name: 'HOSTNET_IPTABLES_MODE', value: 'nft' });
  });

  describe('a bad rule throws at the call that adds it, with the construct path, not at synth', () => {
    const egress = { protocol: Protocol.UDP, scopes: [TrafficScope.NODE_EGRESS], description: 'x' };

    test('addRule: a bad field', () => {
      // GIVEN
      const chart = Testing.chart();
      const firewall = new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), policy: FirewallPolicy.denyUdp() });
      // WHEN / THEN
      expect(() => firewall.addRule('bad', { ...egress, action: RuleAction.ALLOW, destinations: ['nope'] }))
        .toThrow('test/Firewall: rule \'bad\': destinations "nope" is not an IP address or CIDR');
      // the policy stays as it was, so the app still synthesizes
      expect(firewall.policy.rules).toEqual([]);
      expect(() => Testing.synth(chart)).not.toThrow();
    });

    test('addRule: a deny that cuts a failsafe (needs the profile and the DNS exemption)', () => {
      const chart = Testing.chart();
      const firewall = new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s() });
      expect(() => firewall.addRule('no-dns', { ...egress, action: RuleAction.DENY, destinationPorts: [PortRange.of(53)] }))
        .toThrow(/^test\/Firewall: rule 'no-dns': action "deny" would cut failsafe '[a-z0-9-]+' \(.*\); set overrideFailsafe: true if that is intended$/);
      expect(firewall.policy.rules).toEqual([]);
    });

    test('addRule: an id used twice', () => {
      const chart = Testing.chart();
      const firewall = new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s() });
      firewall.addRule('syslog', { ...egress, action: RuleAction.ALLOW, destinations: ['192.0.2.1'] });
      expect(() => firewall.addRule('syslog', { ...egress, action: RuleAction.ALLOW, destinations: ['192.0.2.2'] }))
        .toThrow('test/Firewall: rule \'syslog\': id "syslog" is declared twice; rule ids must be unique');
    });

    test('addRule: a deny that covers an earlier allow entirely, and a deny that carves out of nothing', () => {
      const chart = Testing.chart();
      const firewall = new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s() });
      firewall.addRule('syslog', { ...egress, action: RuleAction.ALLOW, destinations: ['203.0.113.5'], destinationPorts: [PortRange.of(514)] });
      expect(() => firewall.addRule('no-lab', { ...egress, action: RuleAction.DENY, destinations: ['203.0.113.0/24'], destinationPorts: [PortRange.of(514)] }))
        .toThrow('test/Firewall: rule \'syslog\': action "allow" contradicts deny rule \'no-lab\', which covers all of it (deny beats allow)');
      expect(() => firewall.addRule('no-other', { ...egress, action: RuleAction.DENY, destinations: ['198.51.100.0/24'], destinationPorts: [PortRange.of(9999)] }))
        .toThrow('test/Firewall: rule \'no-other\': protocol "udp" is denied by default and no allow rule overlaps this deny rule, so it has no effect');
      // a deny that carves out of the allow is kept, and synth agrees with every verdict above
      firewall.addRule('syslog-v2', { ...egress, action: RuleAction.ALLOW, destinations: ['203.0.113.5'], destinationPorts: [PortRange.range(514, 515)] })
        .addRule('not-syslog-v2', { ...egress, action: RuleAction.DENY, destinations: ['203.0.113.5'], destinationPorts: [PortRange.of(515)] });
      expect(firewall.policy.rules.map((r) => r.id)).toEqual(['syslog', 'syslog-v2', 'not-syslog-v2']);
      expect(() => Testing.synth(chart)).not.toThrow();
    });

    test('addRule after dns.addResolver: a deny that cuts the new resolver\'s DNS is refused at once', () => {
      const chart = Testing.chart();
      const firewall = new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s() });
      firewall.dns.addResolver(DnsResolver.custom('198.51.100.53'));
      expect(() => firewall.addRule('no-dns-198', { ...egress, action: RuleAction.DENY, destinations: ['198.51.100.53'], destinationPorts: [PortRange.of(53)] }))
        .toThrow(/^test\/Firewall: rule 'no-dns-198': action "deny" would cut failsafe 'dns-custom' /);
    });

    test('the constructor: a policy whose deny cuts a failsafe', () => {
      // GIVEN a policy that is fine on its own (addRule cannot know the failsafes)
      const policy = FirewallPolicy.denyUdp().addRule('no-dns', { ...egress, action: RuleAction.DENY, destinationPorts: [PortRange.of(53)] });
      // THEN the firewall given it refuses it in its constructor
      expect(() => new NodeFirewall(Testing.chart(), 'Firewall', { profile: ClusterProfiles.k2s(), policy }))
        .toThrow(/^test\/Firewall: rule 'no-dns': action "deny" would cut failsafe /);
    });
  });

  test.each([
    [{ name: 'Host_Net' }, 'test/Firewall: name "Host_Net" must be a DNS-1123 label of at most 40 characters'],
    [{ linuxImage: 'alpine:latest' }, 'test/Firewall: linuxImage "alpine:latest" tag latest names no release and moves with every push; use a release tag or a digest'],
    [{ linuxImage: 'alpine' }, 'test/Firewall: linuxImage "alpine" has neither a tag nor a digest, so it means latest; add :<release tag>, or @sha256:<digest> to pin the bytes'],
    [{ reapplyInterval: Duration.seconds(1) }, 'test/Firewall: reapplyInterval 1 must be whole seconds between 10 and 86400'],
    [{ iptablesMode: 'both' as IptablesMode }, 'test/Firewall: iptablesMode "both" must be one of auto, legacy, nft'],
    [{ namespace: 'Kube_System' }, 'test/Firewall: profile \'k2s\' namespace "Kube_System" must be a DNS-1123 label (1-63 lowercase letters, digits or dashes)'],
    [{ profile: { ...ClusterProfiles.k2s(), podCidrs: ['172.20.0.0/16', '172.20.0.0/33'] } }, 'test/Firewall: profile \'k2s\' podCidrs[1] "172.20.0.0/33" has an invalid prefix length (0-32 for ipv4)'],
    [{ profile: { ...ClusterProfiles.k2s(), clusterDnsIp: '172.21.0.0/16' } }, 'test/Firewall: profile \'k2s\' clusterDnsIp "172.21.0.0/16" must be a single address, not a range'],
    [{ profile: ClusterProfiles.k0sCalico() }, 'test/Firewall: profile \'k0s-calico\' upstreamResolvers [] must list at least one CIDR; set it in the cluster config (CLUSTER_CONFIG)'],
    [{ profile: ClusterProfiles.generic() }, 'test/Firewall: profile \'generic\' podCidrs [] must list at least one CIDR; set it in the cluster config (CLUSTER_CONFIG)'],
    [{ mode: 'dry-run' as FirewallMode }, 'test/Firewall: mode "dry-run" must be one of enforce, audit, remove'],
    [{ driftCheckInterval: Duration.millis(500) }, 'test/Firewall: driftCheckInterval 0.5 must be whole seconds between 1 and 3600'],
    [{ maxUnavailable: 0 }, 'test/Firewall: maxUnavailable 0 must be a whole number of nodes, at least 1'],
    [{ minReadySeconds: -1 }, 'test/Firewall: minReadySeconds -1 must be whole seconds between 0 and 3600'],
    [{ checkImage: 'busybox' }, 'test/Firewall: checkImage "busybox" has neither a tag nor a digest, so it means latest; add :<release tag>, or @sha256:<digest> to pin the bytes'],
    [{ profile: { ...ClusterProfiles.k2s(), apiServer: '172.19.1.100' } }, 'test/Firewall: apiServer "172.19.1.100" must be host:port or [ipv6]:port, like 172.19.1.100:6443'],
    [{ profile: { ...ClusterProfiles.k2s(), clusterDomain: 'Cluster Local' } }, 'test/Firewall: clusterDomain "Cluster Local" must be a DNS domain, like cluster.local'],
  ])('refuses %j', (props, message) => {
    expect(() => new NodeFirewall(Testing.chart(), 'Firewall', { profile: ClusterProfiles.k2s(), ...props })).toThrow(message);
  });
});

describe('rollout and health checks', () => {
  test('defaults: one node at a time, Ready for 30 s; busybox copied in; readiness is the loop\'s verdict', () => {
    // GIVEN / WHEN
    const objects = synthProfile('k2s');
    const spec = findObject(objects, 'DaemonSet', 'hostnet-linux').spec;
    // THEN
    expect(spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    expect(spec.minReadySeconds).toBe(30);
    const init = spec.template.spec.initContainers[0];
    expect(init).toMatchObject({ image: DEFAULT_CHECK_IMAGE, command: ['/bin/busybox', 'cp', '/bin/busybox', '/run/hostnet-tools/busybox'] });
    expect(init.securityContext).toMatchObject({ runAsNonRoot: true, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true });
    const probe = spec.template.spec.containers[0].readinessProbe;
    expect(probe.exec.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(shellcheck(probe.exec.command[2], 'readiness')).toEqual([]);
    // k2s declares its API server; the resolvers are checked cluster DNS first
    const run = linuxScripts(objects).run;
    expect(run).toContain('api_host="${HOSTNET_API_HOST:-172.19.1.100}"');
    expect(run).toContain('dns_checks="cluster-dns=172.21.0.10 upstream=172.19.1.1"');
    expect(run).toMatch(/^policy=[0-9a-f]{64}$/m);
  });

  test('custom pace, drift interval, mode and domain reach the DaemonSet and run.sh; audit renders no DROP', () => {
    const chart = Testing.chart();
    new NodeFirewall(chart, 'Firewall', {
      profile: { ...ClusterProfiles.k2s(), clusterDomain: 'k2s.internal' },
      maxUnavailable: 3,
      minReadySeconds: 0,
      driftCheckInterval: Duration.seconds(5),
      mode: FirewallMode.AUDIT,
    });
    const objects = Testing.synth(chart);
    const spec = findObject(objects, 'DaemonSet', 'hostnet-linux').spec;
    expect(spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(3);
    expect(spec.minReadySeconds).toBe(0);
    const scripts = linuxScripts(objects);
    expect(scripts.run).toContain('drift_every="${HOSTNET_DRIFT_SECONDS:-5}"');
    expect(scripts.run).toContain("dns_name='kubernetes.default.svc.k2s.internal'");
    expect(scripts.apply).not.toMatch(/^-A .* -j DROP$/m);
    expect(scripts.apply).toContain('-m comment --comment default-deny-udp -j RETURN');
    // the drop log's prefix: sha256("hostnet") starts 7af9ab; w = would drop; rule 0 of droplog.sh's ids
    expect(scripts.apply).toContain('-A HOSTNET-INPUT -p udp -m limit --limit 6/minute --limit-burst 3 -j LOG --log-prefix "hn:7af9ab:w:0 "');
    expect(findObject(objects, 'ConfigMap', 'hostnet-linux-scripts').data['droplog.sh']).toContain("ids='default-deny-udp'");
    expect(findObject(objects, 'ConfigMap', 'hostnet-windows-scripts').data['apply.ps1']).toContain("$Enabled = 'False'");
    expectValidManifests(objects);
  });

  test('remove mode: run.sh removes and idles; the scripts are the same rules', () => {
    const chart = Testing.chart();
    new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), mode: FirewallMode.REMOVE });
    const run = linuxScripts(Testing.synth(chart)).run;
    expect(run).toContain('until sh "$pod/remove.sh"; do');
    expect(run).not.toContain('gated_apply;');
    expect(shellcheck(run, 'run.sh')).toEqual([]);
  });
});

describe('generic profile with Windows nodes', () => {
  const objects = synthProfile('generic', { ...SNAPSHOT_OVERRIDES.generic, nodeOs: ['linux', 'windows'] });

  test('full output snapshot', () => {
    expect(objects).toMatchSnapshot();
  });

  test('a Windows agent with no tolerations (the profile declares no Windows taints), valid objects', () => {
    expect(findObject(objects, 'DaemonSet', 'hostnet-windows').spec.template.spec.tolerations).toEqual([]);
    expectValidManifests(objects);
  });
});

describe('nftables backend', () => {
  const objects = synthProfile('cfke-cilium', { ...SNAPSHOT_OVERRIDES['cfke-cilium'], linuxBackend: 'nftables' });

  test('full output snapshot', () => {
    expect(objects).toMatchSnapshot();
  });

  test('scripts drive one own nft table and pass shellcheck', () => {
    const scripts = linuxScripts(objects);
    expect(scripts.apply).toContain('nft -f -');
    expect(scripts.apply).not.toContain('iptables-restore');
    for (const [name, text] of Object.entries(scripts)) expect(shellcheck(text, name)).toEqual([]);
    expectValidManifests(objects);
  });
});

describe('shared state and duplicate names (issue 11)', () => {
  test('a profile from ClusterProfiles is a copy of its own', () => {
    // GIVEN
    const calico = ClusterProfiles.k0sCalico();
    // WHEN
    calico.podCidrs.push('10.99.0.0/16');
    calico.infrastructure[0].scopes.push(TrafficScope.POD_FORWARD);
    // THEN
    expect(ClusterProfiles.k0sCalico().podCidrs).toEqual(['10.244.0.0/16']);
    expect(ClusterProfiles.k0sKubeRouter().podCidrs).toEqual(['10.244.0.0/16']);
    expect(ClusterProfiles.byName('k0s-calico').infrastructure[0].scopes).toEqual([TrafficScope.NODE_INGRESS, TrafficScope.NODE_EGRESS]);
  });

  test('one policy given to two firewalls: a rule added to one stays there', () => {
    // GIVEN
    const policy = FirewallPolicy.denyUdp();
    const a = new NodeFirewall(Testing.chart(), 'A', { profile: ClusterProfiles.k2s(), policy, name: 'edge' });
    const chart = Testing.chart();
    const b = new NodeFirewall(chart, 'B', { profile: ClusterProfiles.k2s(), policy, name: 'workers' });
    // WHEN
    a.addRule('ntp', { action: RuleAction.ALLOW, protocol: Protocol.UDP, scopes: [TrafficScope.NODE_EGRESS], destinationPorts: [PortRange.of(123)], description: 'NTP' });
    // THEN
    expect(a.policy.rules.map((r) => r.id)).toEqual(['ntp']);
    expect(b.policy.rules).toEqual([]);
    expect(policy.rules).toEqual([]);
    expect(findObject(Testing.synth(chart), 'ConfigMap', 'workers-linux-scripts').data['apply.sh']).not.toContain('ntp');
  });

  test('two NodeFirewalls with one name in one app are refused, naming both', () => {
    const chart = Testing.chart();
    new NodeFirewall(chart, 'First', { profile: ClusterProfiles.k2s() });
    expect(() => new NodeFirewall(chart, 'Second', { profile: ClusterProfiles.k2s(), namespace: 'other-ns' }))
      .toThrow('test/Second: name "hostnet" is already the name of the NodeFirewall at test/First; give each NodeFirewall a name of its own');
  });
});

describe('one firewall per node pool (issue 11)', () => {
  const twoPools = () => {
    const chart = Testing.chart();
    new NodeFirewall(chart, 'Workers', { profile: ClusterProfiles.k2s(), nodeSelector: { 'node-pool': 'workers' } });
    new NodeFirewall(chart, 'Edge', {
      profile: { ...ClusterProfiles.k2s(), namespace: 'hostnet-edge' },
      name: 'edge',
      nodeSelector: { 'node-pool': 'edge', 'example.com/zone': 'dmz' },
    });
    return Testing.synth(chart);
  };

  test('nodeSelector joins the OS label in each agent\'s DaemonSet', () => {
    // WHEN
    const objects = twoPools();
    // THEN
    expect(findObject(objects, 'DaemonSet', 'hostnet-linux').spec.template.spec.nodeSelector)
      .toEqual({ 'node-pool': 'workers', 'kubernetes.io/os': 'linux' });
    expect(findObject(objects, 'DaemonSet', 'edge-linux').spec.template.spec.nodeSelector)
      .toEqual({ 'node-pool': 'edge', 'example.com/zone': 'dmz', 'kubernetes.io/os': 'linux' });
    expect(findObject(objects, 'DaemonSet', 'edge-windows').spec.template.spec.nodeSelector)
      .toEqual({ 'node-pool': 'edge', 'example.com/zone': 'dmz', 'kubernetes.io/os': 'windows' });
    expectValidManifests(objects);
  });

  test('without nodeSelector the DaemonSet selects by OS only, as before', () => {
    const chart = Testing.chart();
    new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s() });
    expect(findObject(Testing.synth(chart), 'DaemonSet', 'hostnet-windows').spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'windows' });
  });

  test('each firewall\'s scripts and agent name only its own chains, sets, group and files', () => {
    const objects = twoPools();
    const workers = linuxScripts(objects, 'hostnet');
    const edge = linuxScripts(objects, 'edge');
    expect(edge.apply).toContain(':HOSTNET-EDGE-INPUT - [0:0]');
    expect(edge.apply).not.toMatch(/HOSTNET-(INPUT|OUTPUT|FORWARD)\b/);
    expect(workers.apply).not.toContain('EDGE');
    expect(edge.remove).toContain('the hn.edge.* sets');
    expect(edge.run).toContain('"$node/good-apply-edge.sh"');
    expect(edge.run).toContain('"$metrics_dir/hostnet-edge.prom"');
    expect(edge.run).toContain('hostnet_apply_success{firewall="edge"} %s');
    expect(workers.run).toContain('"$node/good-apply.sh"');
    expect(workers.run).toContain('hostnet_apply_success %s');
    expect(windowsScripts(objects, 'edge').apply).toContain("$Group = 'cdk8s-hostnet-edge'");
    expect(shellcheck(edge.apply, 'edge-apply.sh')).toEqual([]);
    expect(shellcheck(edge.remove, 'edge-remove.sh')).toEqual([]);
    expect(shellcheck(edge.run, 'edge-run.sh')).toEqual([]);
  });

  test('two metrics sidecars on one node need two ports: refused only where the selectors may meet', () => {
    const chart = Testing.chart();
    new NodeFirewall(chart, 'Workers', { profile: ClusterProfiles.k2s(), nodeSelector: { 'node-pool': 'workers' } });
    // disjoint pools: the same port is fine
    new NodeFirewall(chart, 'Edge', { profile: ClusterProfiles.k2s(), name: 'edge', namespace: 'edge', nodeSelector: { 'node-pool': 'edge' } });
    // a selector that may select a worker node too (no node-pool key) on the same port
    expect(() => new NodeFirewall(chart, 'Zone', { profile: ClusterProfiles.k2s(), name: 'zone', namespace: 'zone', nodeSelector: { zone: 'dmz' } }))
      .toThrow('test/Zone: metricsPort 9847 is also the metrics port of the NodeFirewall at test/Workers, whose nodeSelector may select the same nodes; give each its own port');
    expect(() => new NodeFirewall(chart, 'Dmz', { profile: ClusterProfiles.k2s(), name: 'dmz', namespace: 'dmz', nodeSelector: { zone: 'dmz' }, metricsPort: 9848 }))
      .not.toThrow();
  });

  test.each([
    [{ name: 'edge-pool-east' }, 'test/Firewall: name "edge-pool-east" is longer than 12 characters, so its iptables chain HOSTNET-EDGE-POOL-EAST-FORWARD would pass the kernel\'s 28; use a shorter name'],
    [{ nodeSelector: { 'kubernetes.io/os': 'linux' } }, 'test/Firewall: nodeSelector.kubernetes.io/os "linux" is set by the firewall for each agent (linux, windows); choose the OSs with the profile\'s nodeOs instead'],
    [{ nodeSelector: { 'node pool': 'edge' } }, 'test/Firewall: nodeSelector key "node pool" must be a label key'],
    [{ nodeSelector: { 'node-pool': 'edge;rm -rf /' } }, 'test/Firewall: nodeSelector.node-pool "edge;rm -rf /" must be a label value'],
    [{ nodeSelector: { 'node-pool': 'x'.repeat(64) } }, `test/Firewall: nodeSelector.node-pool "${'x'.repeat(64)}" must be a label value`],
  ])('refuses %j', (props, message) => {
    expect(() => new NodeFirewall(Testing.chart(), 'Firewall', { profile: ClusterProfiles.k2s(), ...props })).toThrow(message);
  });
});
