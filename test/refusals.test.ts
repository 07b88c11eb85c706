// What a NodeFirewall refuses where the mistake is made (issue 13), and the opt-in for each.
import { Testing } from 'cdk8s';
import { ClusterProfiles, CompartmentWorkload, DnsResolver, NodeFirewall, NodeFirewallProps } from '../src';
import { findObject, linuxScripts, synthProfile } from './util/synth';
import { SYSTEM_NAMESPACES } from '../src/policy/k8s-names';

const DIGEST = 'sha256:' + '0123456789abcdef'.repeat(4);
const firewall = (props: Partial<NodeFirewallProps> = {}) => new NodeFirewall(Testing.chart(), 'Firewall', { profile: ClusterProfiles.k2s(), ...props });

describe('system namespaces', () => {
  const refusal = (namespace: string) => `test/Firewall: namespace "${namespace}" is a system namespace: the firewall would relabel it privileged `
    + 'and \'kubectl delete -f\' would delete it; use a namespace of its own, or set createNamespace: false to deploy into it without emitting it';

  test('the list holds at least the namespaces of Kubernetes and Linkerd', () => {
    expect(SYSTEM_NAMESPACES).toEqual(expect.arrayContaining(['kube-system', 'default', 'kube-public', 'kube-node-lease', 'linkerd']));
  });

  test.each([...SYSTEM_NAMESPACES])('namespace %s is refused while the firewall emits its namespace', (namespace) => {
    // GIVEN / WHEN / THEN
    expect(() => firewall({ namespace })).toThrow(refusal(namespace));
  });

  test('a system namespace from the profile is refused too', () => {
    // GIVEN
    const profile = { ...ClusterProfiles.k2s(), namespace: 'kube-system' };
    // WHEN / THEN
    expect(() => firewall({ profile })).toThrow(refusal('kube-system'));
  });

  test('createNamespace: false deploys into it without emitting it', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), namespace: 'kube-system', createNamespace: false });
    // THEN
    const objects = Testing.synth(chart);
    expect(objects.filter((o) => o.kind === 'Namespace')).toEqual([]);
    expect(new Set(objects.map((o) => o.metadata.namespace))).toEqual(new Set(['kube-system']));
    expect(findObject(objects, 'DaemonSet', 'hostnet-linux').metadata.namespace).toBe('kube-system');
  });

  test('a namespace of its own is still emitted first, labelled privileged', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), namespace: 'kube-systems' });
    // THEN
    const [first] = Testing.synth(chart);
    expect(first.kind).toBe('Namespace');
    expect(first.metadata.name).toBe('kube-systems');
    expect(first.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });
});

describe('values that match every address', () => {
  const DNS_OPEN = 'DNS (udp and tcp 53) would be open to every address; list the resolvers\' own addresses, or set allowAnyAddress: true to accept it';

  test.each<[string, Record<string, string[]>, string]>([
    ['upstreamResolvers', { upstreamResolvers: ['0.0.0.0/0'] },
      `test/Firewall: profile 'k2s' upstreamResolvers[0] "0.0.0.0/0" matches every address: ${DNS_OPEN}`],
    ['podCidrs (IPv6)', { podCidrs: ['172.20.0.0/16', '::/0'] },
      'test/Firewall: profile \'k2s\' podCidrs[1] "::/0" matches every address: DNS to the CoreDNS pods and every rule for pod addresses would apply to every address; '
      + 'list the cluster\'s pod networks, or set allowAnyAddress: true to accept it'],
    ['nodeCidrs', { nodeCidrs: ['0.0.0.0/0'] },
      'test/Firewall: profile \'k2s\' nodeCidrs[0] "0.0.0.0/0" matches every address: the infrastructure UDP kept open between nodes would be open to every address; '
      + 'list the nodes\' networks, or set allowAnyAddress: true to accept it'],
  ])('%s is refused', (_, values, message) => {
    // GIVEN
    const profile = { ...ClusterProfiles.k2s(), ...values };
    // WHEN / THEN
    expect(() => firewall({ profile })).toThrow(message);
  });

  test('a resolver added later is refused by addResolver, and not added', () => {
    // GIVEN
    const fw = firewall();
    const before = fw.dns.resolvers;
    // WHEN / THEN
    expect(() => fw.dns.addResolver(DnsResolver.custom('198.51.100.53', '0.0.0.0/0')))
      .toThrow(`test/Firewall/Dns: customResolvers[1] "0.0.0.0/0" matches every address: ${DNS_OPEN}`);
    expect(fw.dns.resolvers).toEqual(before);
  });

  test('a resolver that is no address is refused by addResolver', () => {
    // GIVEN
    const fw = firewall();
    // WHEN / THEN
    expect(() => fw.dns.addResolver(DnsResolver.upstream('resolver.example')))
      .toThrow('test/Firewall/Dns: upstreamResolvers[0] "resolver.example" is not an IP address or CIDR');
  });

  test('a resolver cannot be changed after it was checked', () => {
    // GIVEN
    const resolver = DnsResolver.custom('198.51.100.53');
    firewall().dns.addResolver(resolver);
    // WHEN / THEN
    expect(() => resolver.addresses.push('0.0.0.0/0')).toThrow(TypeError);
  });

  test('a prefix longer than 0 is no "any address"', () => {
    // GIVEN / WHEN
    const fw = firewall({ profile: { ...ClusterProfiles.k2s(), nodeCidrs: ['0.0.0.0/1'] } });
    // THEN
    expect(fw.profile.nodeCidrs).toEqual(['0.0.0.0/1']);
  });

  test('allowAnyAddress: true accepts a resolver for every address, and it is in the policy', () => {
    // GIVEN
    const chart = Testing.chart();
    const fw = new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), allowAnyAddress: true });
    // WHEN
    fw.dns.addResolver(DnsResolver.custom('0.0.0.0/0'));
    // THEN DNS to any address stays open for nodes and pods (no -d: every destination)
    const apply = linuxScripts(Testing.synth(chart)).apply;
    expect(apply).toContain('-A HOSTNET-OUTPUT -p udp -m udp --dport 53 -m comment --comment dns-custom -j RETURN');
    expect(apply).toContain('-A HOSTNET-FORWARD -p udp -m udp --dport 53 -m comment --comment dns-custom -j RETURN');
    expect(fw.dns.resolvers.map((r) => [r.kind, r.addresses])).toContainEqual(['custom', ['0.0.0.0/0']]);
  });

  test('allowAnyAddress: true accepts profile values for every address', () => {
    // GIVEN
    const chart = Testing.chart();
    const profile = { ...ClusterProfiles.k0sCalico(), upstreamResolvers: ['::/0'], nodeCidrs: ['0.0.0.0/0'] };
    // WHEN
    const fw = new NodeFirewall(chart, 'Firewall', { profile, allowAnyAddress: true });
    // THEN the profile keeps them, and Calico's VXLAN is open to and from any address
    expect(fw.profile.nodeCidrs).toEqual(['0.0.0.0/0']);
    const apply = linuxScripts(Testing.synth(chart)).apply;
    expect(apply).toMatch(/-A HOSTNET-INPUT -p udp -m udp --dport 4789 -m comment --comment calico-vxlan-in -j RETURN/);
    expect(apply).toContain('--comment dns-upstream');
  });
});

describe('node OS', () => {
  test.each<[string, unknown, string]>([
    ['none', [], 'test/Firewall: profile \'k2s\' nodeOs [] must name at least one of linux, windows: with none, no agent is deployed'],
    ['an unknown one', ['linux', 'macos'], 'test/Firewall: profile \'k2s\' nodeOs[1] "macos" must be one of linux, windows'],
  ])('%s is refused', (_, nodeOs, message) => {
    // GIVEN
    const profile = { ...ClusterProfiles.k2s(), nodeOs } as any;
    // WHEN / THEN
    expect(() => firewall({ profile })).toThrow(message);
  });
});

describe('image references', () => {
  test.each<[string, string, string]>([
    ['two tags', 'x:1:2', 'repository "x:1" has a ":" that is neither a registry port nor the tag separator'],
    ['a short digest', 'x@sha256:abc', 'digest must be sha256: followed by 64 lowercase hex digits'],
    ['an uppercase digest', `x@${DIGEST.toUpperCase()}`, 'digest must be sha256: followed by 64 lowercase hex digits'],
    ['another digest algorithm', `x@sha512:${'a'.repeat(128)}`, 'digest must be sha256: followed by 64 lowercase hex digits'],
    ['two digests', `x@${DIGEST}@${DIGEST}`, 'has more than one "@": give at most one digest'],
    ['a URL', 'http://evil/x:1', 'must not start with a URL scheme: name the registry host only, like registry.example/name:tag'],
    ['a 200-character tag', `x:${'a'.repeat(200)}`, 'tag must be at most 128 characters (it has 200)'],
    ['a tag starting with a dot', 'x:.1', 'tag must be letters, digits, "_", "." or "-", starting with a letter, digit or "_"'],
    ['an empty tag', 'x:', 'tag must be letters, digits, "_", "." or "-", starting with a letter, digit or "_"'],
    ['an uppercase repository', 'registry.k8s.io/Build-Image/distroless-iptables:v0.9.6', 'repository "Build-Image" must be lowercase'],
    ['an uppercase name', 'Alpine:3.20', 'repository "Alpine" must be lowercase'],
    ['a bad path component', 'registry.k8s.io/-x:1', 'repository "-x" must be lowercase letters and digits, separated by ".", "_", "__" or dashes'],
    ['an empty path component', 'registry.k8s.io//x:1', 'repository "" must be lowercase letters and digits, separated by ".", "_", "__" or dashes'],
    ['a bad registry', 'my-.registry:5000/x:1', 'registry "my-.registry:5000" must be a host name or address with an optional :port'],
    ['a name over 255 characters', `r.example/${'a'.repeat(250)}:1`, 'name must be at most 255 characters (it has 260)'],
    ['empty', '', 'must be an image reference like registry.example/name:tag or name@sha256:<64 hex digits>'],
    ['whitespace', 'alpine:3.20 ', 'has whitespace or a control character'],
    ['a newline', 'alpine:3.20\nx', 'has whitespace or a control character'],
    ['latest', 'latest', 'has neither a tag nor a digest, so it means latest; add :<release tag>, or @sha256:<digest> to pin the bytes'],
    ['the tag latest', 'alpine:latest', 'tag latest names no release and moves with every push; use a release tag or a digest'],
    ['no tag and no digest', 'registry.k8s.io/build-image/distroless-iptables', 'has neither a tag nor a digest, so it means latest; add :<release tag>, or @sha256:<digest> to pin the bytes'],
    ['a registry port but no tag', 'localhost:5000/x', 'has neither a tag nor a digest, so it means latest; add :<release tag>, or @sha256:<digest> to pin the bytes'],
  ])('%s is refused', (_, image, problem) => {
    // GIVEN / WHEN / THEN
    expect(() => firewall({ linuxImage: image })).toThrow(`test/Firewall: linuxImage ${JSON.stringify(image)} ${problem}`);
    expect(() => firewall({ windowsImage: image })).toThrow(`test/Firewall: windowsImage ${JSON.stringify(image)} ${problem}`);
  });

  test.each([
    ['a tag', 'registry.k8s.io/build-image/distroless-iptables:v0.9.6'],
    ['a digest', `registry.k8s.io/build-image/distroless-iptables@${DIGEST}`],
    ['a tag and a digest', `registry.k8s.io/build-image/distroless-iptables:v0.9.6@${DIGEST}`],
    ['latest with a digest that pins it', `alpine:latest@${DIGEST}`],
    ['a registry with a port', 'localhost:5000/team/agent:1.0'],
    ['an IPv6 registry', '[fd00::1]:5000/agent:1.0'],
    ['separators', 'registry.example/a__b/c-d.e_f---g:v1_2-3.4'],
    ['a 128-character tag', `x:${'a'.repeat(128)}`],
  ])('%s is accepted and used as given', (_, image) => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    new NodeFirewall(chart, 'Firewall', { profile: ClusterProfiles.k2s(), linuxImage: image, windowsImage: image });
    // THEN
    const objects = Testing.synth(chart);
    expect(findObject(objects, 'DaemonSet', 'hostnet-linux').spec.template.spec.containers[0].image).toBe(image);
    expect(findObject(objects, 'DaemonSet', 'hostnet-windows').spec.template.spec.containers[0].image).toBe(image);
  });

  test('every image of a CompartmentWorkload is checked the same way', () => {
    // GIVEN
    const props = { executable: 'C:\\apps\\albums\\albumswin.exe' };
    // WHEN / THEN
    expect(() => new CompartmentWorkload(Testing.chart(), 'albums', { ...props, pauseImage: 'x:1:2' }))
      .toThrow('test/albums: pauseImage "x:1:2" repository "x:1" has a ":" that is neither a registry port nor the tag separator');
    expect(() => new CompartmentWorkload(Testing.chart(), 'albums', { ...props, hostProcessImage: 'x@sha256:abc' }))
      .toThrow('test/albums: hostProcessImage "x@sha256:abc" digest must be sha256: followed by 64 lowercase hex digits');
    expect(() => new CompartmentWorkload(Testing.chart(), 'albums', { ...props, pauseImage: `mcr.microsoft.com/oss/kubernetes/pause@${DIGEST}` })).not.toThrow();
  });
});

describe('the synth app passes the opt-ins from CLUSTER_CONFIG', () => {
  test('createNamespace: false with namespace kube-system emits no Namespace', () => {
    // GIVEN / WHEN
    const objects = synthProfile('k2s', { namespace: 'kube-system', createNamespace: false });
    // THEN
    expect(objects.filter((o) => o.kind === 'Namespace')).toEqual([]);
    expect(findObject(objects, 'DaemonSet', 'hostnet-windows').metadata.namespace).toBe('kube-system');
  });

  test('namespace kube-system alone is refused, naming the file and field where it was written', () => {
    // GIVEN / WHEN / THEN
    expect(() => synthProfile('k2s', { namespace: 'kube-system' })).toThrow('test-overrides.yaml: namespace "kube-system" is a system namespace');
  });

  test('customResolvers for every address are refused, and accepted with allowAnyAddress: true', () => {
    // GIVEN / WHEN / THEN
    expect(() => synthProfile('k2s', { customResolvers: ['::/0'] }))
      .toThrow('test-overrides.yaml: customResolvers[0] "::/0" matches every address: DNS (udp and tcp 53) would be open to every address');
    const apply = linuxScripts(synthProfile('k2s', { customResolvers: ['::/0'], allowAnyAddress: true })).apply;
    expect(apply).toContain('--comment dns-custom -j RETURN');
  });
});
