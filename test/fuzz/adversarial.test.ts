// The hostile CLUSTER_CONFIG inputs named in issue 13, as regression tests: each must end in a
// clean error (outcome (a) of the fuzzer: one line of at most 400 characters, starting with the
// file's path, no JavaScript internals) that names the field it is about. Only the field path is
// asserted, not the wording.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { errorProblems, synthCase } from './fuzz-oracle';

const HUNDRED_KB = 100 * 1024;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A 6,000-entry anchor used 60 times: 360,000 values if it were expanded. */
function aliasBomb(): string {
  const entries = Array.from({ length: 6000 }, (_, i) => `"10.${i >> 8}.${i & 255}.0/24"`); // eslint-disable-line no-bitwise
  return `podCidrs: &cidrs [${entries.join(', ')}]\nx: [${Array(60).fill('*cidrs').join(', ')}]\n`;
}

describe('hostile CLUSTER_CONFIG inputs of issue 13 end in a clean error that names the field', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostnet-adversarial-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  let n = 0;

  /** Loads and synthesizes `yaml` for k2s; returns the error message, failing unless it is clean. */
  function cleanError(yaml: string): { message: string; file: string; ms: number } {
    const file = path.join(dir, `cluster-${++n}.yaml`);
    fs.writeFileSync(file, yaml);
    const t0 = Date.now();
    const outcome = synthCase(file, 'k2s');
    const ms = Date.now() - t0;
    if (outcome.kind !== 'error') throw new Error(`expected a clean error, got an output of ${outcome.objects} objects`);
    expect(errorProblems(outcome.message, file, yaml).map((p) => p.signature)).toEqual([]);
    return { message: outcome.message, file, ms };
  }

  test.each([
    ['destinationPorts: "53" inside an exemption', 'exemptions: [{id: ntp, protocol: udp, scopes: [nodeEgress], destinationPorts: "53", description: NTP}]\n',
      'exemptions[0].destinationPorts'],
    ['nodeCidrs: ["0.0.0.0/0", "10.0.0.0/8"]', 'nodeCidrs: ["0.0.0.0/0", "10.0.0.0/8"]\n', 'nodeCidrs[0]'],
    ['namespace: kube-system', 'namespace: kube-system\n', 'namespace'],
    ['upstreamResolvers: [0.0.0.0/0]', 'upstreamResolvers: [0.0.0.0/0]\n', 'upstreamResolvers[0]'],
    ['customResolvers: ["::/0"]', 'customResolvers: ["::/0"]\n', 'customResolvers[0]'],
    ['podCidrs: [0.0.0.0/0]', 'podCidrs: [0.0.0.0/0]\n', 'podCidrs[0]'],
    ['nodeOs: []', 'nodeOs: []\n', 'nodeOs'],
    ['linuxImage: "x:1:2"', 'linuxImage: "x:1:2"\n', 'linuxImage'],
    ['linuxImage: "x@sha256:abc"', 'linuxImage: "x@sha256:abc"\n', 'linuxImage'],
    ['linuxImage: "http://evil/x:1"', 'linuxImage: "http://evil/x:1"\n', 'linuxImage'],
    ['linuxImage with a 200-character tag', `linuxImage: "registry.example/agent:${'v'.repeat(200)}"\n`, 'linuxImage'],
    ['reapplyIntervalSeconds: -5', 'reapplyIntervalSeconds: -5\n', 'reapplyIntervalSeconds'],
    ['a 100 KB name', `name: "${'a'.repeat(HUNDRED_KB)}"\n`, 'name'],
    ['a 100 KB CIDR', `podCidrs: ["${'10.0.0.0/8,'.repeat(HUNDRED_KB / 11)}"]\n`, 'podCidrs[0]'],
    ['a 100 KB description', `exemptions: [{id: ntp, protocol: udp, scopes: [nodeEgress], description: "${'$(reboot) '.repeat(HUNDRED_KB / 10)}"}]\n`,
      'exemptions[0].description'],
  ])('%s', (_, yaml, field) => {
    const { message } = cleanError(yaml);
    // the field's whole path: not followed by more of a path (`nodeCidrs[0]` is not `nodeCidrs[0].x`)
    expect(message).toMatch(new RegExp(`${escapeRegExp(field)}(?![\\w.[])`));
  });

  test.each([
    ['a circular alias', 'podCidrs: &a [*a]\n'],
    ['a circular alias through a mapping', 'exemptions: &e [{id: a, protocol: udp, scopes: [nodeEgress], description: d, sources: *e}]\n'],
  ])('%s: the error gives the line and column of the alias', (_, yaml) => {
    const { message, file } = cleanError(yaml);
    expect(message).toMatch(new RegExp(`^${escapeRegExp(file)}:1:\\d+: `));
  });

  test('an alias bomb (a 6,000-entry anchor used 60 times) is refused in under 2 s, at its line and column', () => {
    const { message, file, ms } = cleanError(aliasBomb());
    expect(message).toMatch(new RegExp(`^${escapeRegExp(file)}:2:\\d+: `));
    expect(ms).toBeLessThan(2000);
  });
});
