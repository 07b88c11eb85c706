import { cdk8s, javascript } from 'projen';
import { UpdateSnapshot } from 'projen/lib/javascript';

const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-hostnet',
  description: 'Host-level network policy (UDP firewall, DNS exemptions) for mixed Linux/Windows Kubernetes clusters, as cdk8s constructs',
  author: 'cdk8s-hostnet maintainers',
  authorAddress: 'maintainers@cdk8s-hostnet.invalid',
  repositoryUrl: 'https://example.invalid/cdk8s-hostnet.git',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  keywords: ['cdk8s', 'kubernetes', 'firewall', 'iptables', 'nftables', 'windows', 'k2s', 'k0s'],

  // cdk8s 2.x; projen's default is 1.x (FIELD-NOTES: toolchain facts)
  cdk8sVersion: '2.70.106',
  constructsVersion: '10.4.2',
  jsiiVersion: '~6.0.0',
  peerDeps: ['cdk8s-plus-28@^2.5.6'],
  devDeps: [
    'cdk8s-plus-28@2.5.6',
    'cdk8s-cli@2.207.60',
    '@types/node@^20',
    'ajv@^8',
    'fast-check@^3',
    // PowerShell grammar for parsing the generated Windows scripts in tests (wasm, no native build)
    'web-tree-sitter@0.25.10',
    // bundles the synth app into one file: module resolution was most of `cdk8s synth`'s time
    'esbuild@^0.25',
    'tree-sitter-powershell@0.26.4',
  ],
  // jsii only packs bundled non-jsii dependencies. yaml: the cdk8s-hostnet command reads dist/ and
  // FLOWS.yaml with it (the synth app reads CLUSTER_CONFIG files with it too)
  bundledDeps: ['ipaddr.js@^2.2.0', 'yaml@^2'],
  // `npx cdk8s-hostnet explain|diff|test`: verdicts of a synthesized dist/, offline (issue 10)
  bin: { 'cdk8s-hostnet': 'lib/cli/cdk8s-hostnet.js' },

  // engines: Node.js 20 or later; CI builds and tests on 20 and 22 (.ci/run)
  minNodeVersion: '20.0.0',

  // nothing here may need GitHub or a release pipeline
  github: false,
  release: false,
  depsUpgrade: false,
  clobber: false,
  integrationTestAutoDiscover: false,

  // jsii targets besides JavaScript: Python. Not Go: its build fetches github.com/aws/jsii-runtime-go
  // and the cdk8s Go modules, and only the npm and Debian registries are reachable here.
  publishToPypi: { distName: 'cdk8s-hostnet', module: 'cdk8s_hostnet' },

  // jsii packs into dist/js by default, which collides with cdk8s's dist/ manifests
  artifactsDirectory: 'pkg',

  jestOptions: {
    // projen's default `jest --updateSnapshot` makes snapshots unable to fail
    updateSnapshot: UpdateSnapshot.NEVER,
    // a run that finds no test must fail, not pass
    passWithNoTests: false,
    jestConfig: {
      // real-kernel tests share the host's netns namespace list: keep them in one worker at a time
      maxWorkers: 2,
      testTimeout: 120_000,
      coveragePathIgnorePatterns: ['/node_modules/', '/test/'],
    },
  },
  gitignore: ['/dist/', '/pkg/', '/.bench/', '/build/', '/examples/dist/'],
  // the package is an allowlist (`files` below), not an ignore list that every new folder slips past
  npmignoreEnabled: false,
});

// What `npm pack` puts in the package: what a library user needs, and nothing else (package.json,
// README.md, LICENSE and the bundled dependencies are always in). Not the synth app (lib/main.js,
// lib/app/: the CLI of this repository, esbuild-bundled into build/synth-app.js), the k8s schema,
// bench/, crds/, examples/, test/. scripts/check-package.js checks the list in CI.
project.package.addField('files', ['lib/**/*.js', 'lib/**/*.d.ts', '!lib/main.*', '!lib/app/', '.jsii', 'API.md']);

// eslint-import-resolver-typescript pulls unrs-resolver 1.13.0, whose native bindings are incomplete
// on the npm registry reachable here, and `npm ci` then fails (FIELD-NOTES: toolchain facts).
project.package.addField('overrides', { 'unrs-resolver': '1.12.2' });

// jsii (and jsii-pacmak) print a 12-line banner on every run on Node 20, which ended jsii's support on
// 2026-10-30: @jsii/check-node names it "end-of-life", silenced per major by this variable (the
// ..._DEPRECATED_NODE_VERSION one only covered the six months before). Node 22 is built in CI too.
project.tasks.addEnvironment('JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION', '20');

// The synth app as one file: loading ~100 modules one by one cost more than synthesizing.
const bundle = project.addTask('bundle', {
  description: 'Bundle the compiled synth app (lib/main.js) into build/synth-app.js',
  exec: 'esbuild lib/main.js --bundle --platform=node --target=node20 --outfile=build/synth-app.js --log-level=warning',
});
project.compileTask.spawn(bundle);

// jsii-pacmak: no .npmignore (package.json "files" decides; pacmak would write one beside it). The
// Python wheel build pip-installs setuptools, build and twine from PyPI, unreachable here, so
// package:python generates the package's source tree, pkg/python/ (CI byte-compiles it); where PyPI
// is reachable, `python3 -m build pkg/python` makes the wheel.
project.tasks.tryFind('package:js')?.reset('jsii-pacmak -v --target js --no-npmignore');
project.tasks.tryFind('package:python')?.reset('jsii-pacmak -v --target python --code-only --no-npmignore');

// jsii takes 10-15 s, the synth about 2 s: compile only when src/ (or package.json, tsconfig.json,
// package-lock.json, README.md) is newer than lib/, .jsii or the bundle, or one of them is missing.
const compileIfStale = { spawn: project.compileTask.name, condition: 'node scripts/needs-compile.js' };

// `cdk8s synth` runs the bundled app (no ts-node); the CLI's upgrade check fails offline.
project.addTask('synth', {
  description: 'Synthesize the manifests of one cluster into dist/, compiling first when src/ changed since the last compile',
  env: { CDK8S_CHECK_UPGRADE: 'false' },
  steps: [compileIfStale, { exec: 'cdk8s synth' }],
});

// npm runs prepack before `npm pack` and `npm publish` (and before installing from git): a package
// can then never lack lib/ or .jsii, nor hold a lib/ older than src/.
project.addTask('prepack', {
  description: 'Before npm pack/publish: compile when lib/ or .jsii is missing or older than src/',
  steps: [compileIfStale],
});

// The benchmark (issue 5) prints ratios and writes BENCHMARKS.md; not a test: CI runs its smoke only.
project.addTask('bench', {
  description: 'Performance benchmark (root, real kernel): prints ratios, writes BENCHMARKS.md; --smoke for a quick run',
  steps: [{ spawn: 'compile' }, { exec: 'ts-node -P test/tsconfig.json --transpile-only bench/run.ts', receiveArgs: true }],
});
// the synth app (src/main.ts, src/app/) reaches no user: esbuild bundles it with its devDependencies (yaml)
project.eslint?.allowDevDeps('src/main.ts');
project.eslint?.allowDevDeps('src/app/**');
project.eslint?.addLintPattern('bench');
project.eslint?.addLintPattern('examples');

project.synth();
