// The README's commands and code are part of the product: a reader's first hour runs them as written.
import { accessSync, constants, mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as ts from 'typescript';
import { parseAllDocuments } from 'yaml';

const REPO = join(__dirname, '..');
const README = readFileSync(join(REPO, 'README.md'), 'utf8');

/** The fenced blocks of one language in the section under `heading` (up to the next `## `). */
function blocks(heading: string, language: string): string[] {
  const start = README.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section ${heading}`);
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

/** Type errors of `code` as if it were the file `file`, compiled with the library's own tsconfig.json. */
function typeErrors(file: string, code: string): string[] {
  const config = ts.readConfigFile(join(REPO, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, REPO);
  const compilerOptions = { ...options, noEmit: true, rootDir: REPO };
  const host = ts.createCompilerHost(compilerOptions);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (name, version, ...rest) => (name === file ? ts.createSourceFile(name, code, version) : getSourceFile(name, version, ...rest));
  const fileExists = host.fileExists;
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], compilerOptions, host);
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => {
    const position = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    return `${position ? `${position.line + 1}:${position.character + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

/** Runs `code` (TypeScript, importing 'cdk8s-hostnet') against src/ with cdk8s writing into a fresh directory. */
function runApp(code: string): string {
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
  const js = ts.transpileModule(code, { compilerOptions }).outputText;
  const outdir = mkdtempSync(join(tmpdir(), 'hostnet-readme-app-'));
  const saved = process.env.CDK8S_OUTDIR;
  process.env.CDK8S_OUTDIR = outdir;
  try {
    // `require` of this test file: '../src' resolves to the library's sources
    new Function('require', 'module', 'exports', js)(require, { exports: {} }, {});
  } finally {
    if (saved === undefined) delete process.env.CDK8S_OUTDIR;
    else process.env.CDK8S_OUTDIR = saved;
  }
  return outdir;
}

const asLibraryUser = (code: string) => code.replace(/from 'cdk8s-hostnet'/g, "from '../src'");

describe('the README', () => {
  test('its first lines: the test command\'s scripts exist, are executable, and install the packages the README names', () => {
    // GIVEN the first sh block: install + synth, then the tests
    const [first] = /```sh\n([\s\S]*?)```/.exec(README)!.slice(1);
    const lines = first.trim().split('\n').map((line) => line.replace(/\s+#.*$/, ''));
    // THEN
    expect(lines).toEqual(['npm ci && npm run synth', 'scripts/test-deps.sh && scripts/as-root.sh npm test']);
    for (const script of ['scripts/test-deps.sh', 'scripts/as-root.sh']) accessSync(join(REPO, script), constants.X_OK);
    const named = /Debian packages the tests drive \(`([^`]+)`/.exec(README.replace(/\n/g, ' '))![1].split(/\s+/);
    const installed = /^PACKAGES='([^']+)'$/m.exec(readFileSync(join(REPO, 'scripts', 'test-deps.sh'), 'utf8'))![1].split(' ');
    expect(named).toEqual(installed);
  });

  test('its install command names the package and its peer dependencies', () => {
    // GIVEN
    const peers = Object.keys(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).peerDependencies).sort();
    // THEN
    expect(blocks('## Using the constructs in your own cdk8s app', 'sh')[0].trim()).toBe(`npm i cdk8s-hostnet ${peers.join(' ')}`);
  });

  const examples = ['## Using the constructs in your own cdk8s app', '## Native Windows executables in network compartments: `CompartmentWorkload`']
    .flatMap((heading) => blocks(heading, 'ts').filter((code) => code.includes("from 'cdk8s-hostnet'")).map((code, i) => [`${heading.slice(3)} #${i + 1}`, code] as const));

  test('has the TypeScript examples this test runs', () => {
    expect(examples.map(([name]) => name)).toEqual([
      'Using the constructs in your own cdk8s app #1',
      'Native Windows executables in network compartments: `CompartmentWorkload` #1',
    ]);
  });

  test.each(examples)('example "%s" type-checks against the public API (src/index.ts)', (_, code) => {
    // WHEN compiled as a file of this repository that imports the library's index
    const errors = typeErrors(join(REPO, 'test', 'readme-example.ts'), asLibraryUser(code));
    // THEN
    expect(errors).toEqual([]);
  });

  test.each(examples)('example "%s" synthesizes manifests', (_, code) => {
    // WHEN
    const outdir = runApp(asLibraryUser(code));
    const files = readdirSync(outdir).filter((f) => f.endsWith('.k8s.yaml'));
    const objects = files.includes('hostnet.k8s.yaml') ? parseAllDocuments(readFileSync(join(outdir, 'hostnet.k8s.yaml'), 'utf8')).map((d) => d.toJS()) : [];
    rmSync(outdir, { recursive: true, force: true });
    // THEN every chart it declares is written, and the firewall holds what the example added
    expect(files).toContain('hostnet.k8s.yaml');
    expect(objects.map((o) => o.kind)).toContain('DaemonSet');
    if (code.includes("addRule('ntp'")) {
      const scripts = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'hostnet-linux-scripts').data['apply.sh'];
      expect(scripts).toContain('--comment ntp');
      expect(scripts).toContain('198.51.100.53');
    }
  });
});
