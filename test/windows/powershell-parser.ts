// Parses PowerShell in tests with tree-sitter-powershell through web-tree-sitter (WebAssembly:
// nothing to compile). The grammar's .wasm is loaded as bytes: Language.load(path) fetches paths
// as URLs in some runtimes.
import * as fs from 'fs';
import { Language, Node, Parser, Tree } from 'web-tree-sitter';

let parser: Promise<Parser> | undefined;

function loadParser(): Promise<Parser> {
  parser ??= (async () => {
    await Parser.init();
    const wasm = fs.readFileSync(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
    const language = await Language.load(new Uint8Array(wasm));
    const p = new Parser();
    p.setLanguage(language);
    return p;
  })();
  return parser;
}

/** Parses a script; throws when the parser gives up entirely. */
export async function parsePowerShell(script: string): Promise<Tree> {
  const tree = (await loadParser()).parse(script);
  if (!tree) throw new Error('tree-sitter returned no tree');
  return tree;
}

/** ERROR and MISSING nodes, as `line:column: ERROR "text"`; empty when the script parses cleanly. */
export function parseProblems(tree: Tree): string[] {
  const problems: string[] = [];
  const visit = (node: Node) => {
    if (node.isError || node.isMissing) {
      const where = `${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
      problems.push(`${where}: ${node.isMissing ? 'MISSING' : 'ERROR'} ${JSON.stringify(node.text.slice(0, 60))}`);
    }
    for (const child of node.children) if (child) visit(child);
  };
  visit(tree.rootNode);
  return problems;
}

/**
 * The tree's structure as an S-expression of node types and token texts, with the contents of
 * string literals and comments left out: two scripts that differ only inside their literals and
 * comments share a shape.
 */
export function treeShape(node: Node): string {
  if (node.type === 'string_literal' || node.type === 'comment') return node.type;
  const children = node.children.filter((c): c is Node => c !== null);
  if (children.length === 0) return `${node.type}=${JSON.stringify(node.text)}`;
  return `(${node.type} ${children.map(treeShape).join(' ')})`;
}

/** Every node of a tree, depth first. */
export function* allNodes(node: Node): Generator<Node> {
  yield node;
  for (const child of node.children) if (child) yield* allNodes(child);
}

/** The value of a single-quoted PowerShell literal: quotes stripped, doubled quotes undone. */
export function verbatimValue(literal: Node): string {
  const text = literal.text;
  if (literal.type !== 'string_literal' || !/^'[\s\S]*'$/.test(text)) {
    throw new Error(`expected a single-quoted string literal, got ${literal.type} ${JSON.stringify(text)}`);
  }
  return text.slice(1, -1).replace(/''/g, '\'');
}
