// Strict Kubernetes 1.28 schema validation of synthesized manifests, for tests.
//
// Like `kubeconform -strict`: every object schema that lists `properties` rejects fields it does
// not list, so a misspelled field fails the test instead of being dropped by the API server.
// CRD kinds are unknown until their CRDs are registered (registerCrdSchemas).
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { Yaml } from 'cdk8s';

const DEFINITIONS_FILE = path.join(__dirname, '..', '..', 'schemas', 'k8s-1.28.0-definitions.json');
const K8S_SCHEMA_ID = 'k8s-1.28.0';
const OBJECT_META_REF = `${K8S_SCHEMA_ID}#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`;

type Schema = { [keyword: string]: any };

/** Where the schema of one apiVersion+kind comes from. */
type SchemaSource =
  | { readonly definition: string } // key in the Kubernetes definitions
  | { readonly crdSchema: Schema }; // already made strict

interface Registry {
  readonly ajv: Ajv;
  readonly sources: Map<string, SchemaSource>;
  readonly compiled: Map<string, ValidateFunction>;
}

let registry: Registry | undefined;

/**
 * Validates one manifest against the Kubernetes 1.28 schema (or a registered CRD schema).
 * @returns human-readable errors, e.g. `spec.template.spec: unknown field "hostNetwrok"`; empty if valid
 */
export function validateManifest(obj: any): string[] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return [`manifest must be an object, got ${JSON.stringify(obj)}`];
  }
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return [`manifest needs string "apiVersion" and "kind", got apiVersion ${JSON.stringify(apiVersion)}, kind ${JSON.stringify(kind)}`];
  }
  const validate = validatorFor(apiVersion, kind);
  if (!validate) {
    return [`no schema for apiVersion "${apiVersion}" kind "${kind}": not a Kubernetes 1.28 kind and no CRD registered for it (registerCrdSchemas)`];
  }
  return validate(obj) ? [] : formatErrors(validate.errors ?? []);
}

/**
 * Fails the current test if any manifest is invalid, naming each bad object and all its errors.
 * Typical use: `expectValidManifests(Testing.synth(chart))`.
 */
export function expectValidManifests(objs: any[]): void {
  const reports: string[] = [];
  for (const obj of objs) {
    const errors = validateManifest(obj);
    if (errors.length > 0) {
      reports.push(`${describeObject(obj)}:\n${errors.map(e => `    - ${e}`).join('\n')}`);
    }
  }
  if (reports.length > 0) {
    const error = new Error(`${reports.length} of ${objs.length} manifests are not valid Kubernetes 1.28:\n  ${reports.join('\n  ')}`);
    Error.captureStackTrace(error, expectValidManifests); // point at the calling test, not here
    throw error;
  }
}

/**
 * Makes the kinds defined by CustomResourceDefinitions (apiextensions.k8s.io/v1) known to
 * validateManifest: one schema per served version, made strict like the built-in kinds.
 * Registration lasts for the test file (jest gives each file its own module registry).
 * @returns the registered kinds as `apiVersion kind`, e.g. `policy.linkerd.io/v1beta3 Server`
 */
export function registerCrdSchemas(crds: any[]): string[] {
  const { sources, compiled } = load();
  const registered: string[] = [];
  for (const crd of crds) {
    if (crd?.apiVersion !== 'apiextensions.k8s.io/v1' || crd?.kind !== 'CustomResourceDefinition') {
      throw new Error(`expected an apiextensions.k8s.io/v1 CustomResourceDefinition, got ${describeObject(crd)}`);
    }
    const { group, names, versions } = crd.spec;
    for (const version of versions) {
      if (!version.served) continue; // the API server refuses objects of unserved versions
      const schema = version.schema?.openAPIV3Schema;
      if (!schema) {
        throw new Error(`CRD ${crd.metadata?.name} version ${version.name} has no openAPIV3Schema`);
      }
      const key = kindKey(`${group}/${version.name}`, names.kind);
      sources.set(key, { crdSchema: crdRootSchema(schema) });
      compiled.delete(key); // a re-registered CRD replaces the old schema
      registered.push(`${group}/${version.name} ${names.kind}`);
    }
  }
  return registered;
}

/**
 * Reads multi-document YAML files and registers the CRDs in them (see registerCrdSchemas).
 * Parsed by cdk8s's own reader (YAML 1.1 like kubectl, empty documents skipped); importing `yaml`
 * directly would rely on a package that is only a transitive dependency here.
 */
export function registerCrdFiles(...files: string[]): string[] {
  return registerCrdSchemas(files.flatMap(file => Yaml.load(file)));
}

// ---------------------------------------------------------------------------------------------
// Loading and compiling

/** Loads the definitions once per test file; each kind is compiled on first use, then cached. */
function load(): Registry {
  if (registry) return registry;
  const definitions: Record<string, Schema> = JSON.parse(fs.readFileSync(DEFINITIONS_FILE, 'utf8')).definitions;
  const strictDefinitions: Record<string, Schema> = {};
  const sources = new Map<string, SchemaSource>();
  for (const [name, schema] of Object.entries(definitions)) {
    strictDefinitions[name] = strictCopy(schema);
    // apiVersion+kind → definition, from the definitions themselves (262 kinds in 1.28; the
    // meta kinds DeleteOptions and WatchEvent list one entry per group version).
    for (const gvk of schema['x-kubernetes-group-version-kind'] ?? []) {
      const key = kindKey(gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version, gvk.kind);
      const existing = sources.get(key);
      if (existing && 'definition' in existing) {
        throw new Error(`${key} is claimed by both ${existing.definition} and ${name}`);
      }
      sources.set(key, { definition: name });
    }
  }
  const ajv = new Ajv({
    strict: false, // the definitions carry x-kubernetes-* and other non-JSON-schema keywords
    allErrors: true, // report every problem of a manifest at once
    formats: K8S_FORMATS,
  });
  ajv.addSchema({ definitions: strictDefinitions }, K8S_SCHEMA_ID);
  registry = { ajv, sources, compiled: new Map() };
  return registry;
}

function validatorFor(apiVersion: string, kind: string): ValidateFunction | undefined {
  const { ajv, sources, compiled } = load();
  const key = kindKey(apiVersion, kind);
  let validate = compiled.get(key);
  if (!validate) {
    const source = sources.get(key);
    if (!source) return undefined;
    validate = 'definition' in source
      ? ajv.compile({ $ref: `${K8S_SCHEMA_ID}#/definitions/${source.definition}` })
      : ajv.compile(source.crdSchema);
    compiled.set(key, validate);
  }
  return validate;
}

function kindKey(apiVersion: string, kind: string): string {
  return `${apiVersion} ${kind}`;
}

// int32 is checked because an out-of-range port or replica count is a real API-server error;
// the other OpenAPI formats Kubernetes uses are accepted as they are (declared, so ajv does not
// warn about unknown formats).
const K8S_FORMATS = {
  'int32': { type: 'number' as const, validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
  'int64': true,
  'double': true,
  'float': true,
  'byte': true,
  'date-time': true,
  'date': true,
  'duration': true,
  'uri': true,
  'hostname': true,
  'ipv4': true,
  'ipv6': true,
  'cidr': true,
  'uuid': true,
  'password': true,
} as const;

// ---------------------------------------------------------------------------------------------
// Strictness

/**
 * Copy of a schema in which every object schema with `properties` and no `additionalProperties`
 * rejects unlisted fields. Only structural positions (properties, items, additionalProperties) are
 * tightened: a `properties` inside oneOf/anyOf/allOf/not only constrains fields the outer schema
 * already lists, and closing it would reject the outer schema's other fields.
 */
function strictCopy(schema: Schema): Schema {
  const copy: Schema = { ...schema };
  if (copy.properties) {
    copy.properties = mapValues(copy.properties, strictCopy);
    const preservesUnknown = copy['x-kubernetes-preserve-unknown-fields'] === true;
    if (copy.additionalProperties === undefined && !preservesUnknown) {
      copy.additionalProperties = false;
    }
  }
  if (isSchema(copy.items)) copy.items = strictCopy(copy.items);
  if (isSchema(copy.additionalProperties)) copy.additionalProperties = strictCopy(copy.additionalProperties);
  return copy;
}

/** A served CRD version's openAPIV3Schema, as ajv should see it for a whole custom object. */
function crdRootSchema(openApiSchema: Schema): Schema {
  const schema = strictCopy(fromStructural(openApiSchema));
  // The API server validates apiVersion, kind and metadata itself; CRD schemas rarely list them.
  schema.properties = {
    ...schema.properties,
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { $ref: OBJECT_META_REF },
  };
  return schema;
}

/**
 * Turns the Kubernetes extensions of a CRD's structural schema into plain JSON schema:
 * x-kubernetes-int-or-string (no `type`) becomes "integer or string", `nullable` without a `type`
 * (which ajv refuses) is dropped, x-kubernetes-embedded-resource gets apiVersion/kind/metadata.
 */
function fromStructural(schema: Schema): Schema {
  const copy: Schema = { ...schema };
  for (const keyword of ['items', 'additionalProperties', 'not']) {
    if (isSchema(copy[keyword])) copy[keyword] = fromStructural(copy[keyword]);
  }
  for (const keyword of ['allOf', 'anyOf', 'oneOf']) {
    if (Array.isArray(copy[keyword])) copy[keyword] = copy[keyword].map(fromStructural);
  }
  if (copy.properties) copy.properties = mapValues(copy.properties, fromStructural);
  if (copy['x-kubernetes-int-or-string'] === true) {
    copy.allOf = [...(copy.allOf ?? []), { anyOf: [{ type: 'integer' }, { type: 'string' }] }];
  }
  if (copy.nullable !== undefined && copy.type === undefined) delete copy.nullable;
  if (copy['x-kubernetes-embedded-resource'] === true) {
    copy.properties = {
      ...copy.properties,
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { $ref: OBJECT_META_REF },
    };
  }
  return copy;
}

function isSchema(value: unknown): value is Schema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function mapValues(obj: Record<string, Schema>, fn: (schema: Schema) => Schema): Record<string, Schema> {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fn(v)]));
}

// ---------------------------------------------------------------------------------------------
// Error messages

/** One line per problem, with a dotted path (`spec.containers[0].ports[1].containerPort`). */
function formatErrors(errors: ErrorObject[]): string[] {
  // A value that matches none of int-or-string's alternatives yields one `type` error per
  // alternative plus the oneOf/anyOf error: report that as one "must be integer or string".
  const typesByPath = new Map<string, string[]>();
  for (const e of errors) {
    if (e.keyword === 'type') {
      typesByPath.set(e.instancePath, [...typesByPath.get(e.instancePath) ?? [], String(e.params.type)]);
    }
  }
  const lines = errors.flatMap(e => {
    const where = readablePath(e.instancePath);
    const alternatives = typesByPath.get(e.instancePath) ?? [];
    const isAlternation = e.keyword === 'oneOf' || e.keyword === 'anyOf';
    if (e.keyword === 'type' && alternatives.length > 1) return [];
    if (isAlternation && alternatives.length > 1) return [`${where}: must be ${alternatives.join(' or ')}`];
    if (e.keyword === 'additionalProperties') return [`${where}: unknown field "${e.params.additionalProperty}"`];
    if (e.keyword === 'enum') return [`${where}: ${e.message}: ${e.params.allowedValues.map((v: unknown) => JSON.stringify(v)).join(', ')}`];
    return [`${where}: ${e.message}`];
  });
  return [...new Set(lines)];
}

function readablePath(pointer: string): string {
  if (pointer === '') return '(root)';
  return pointer.split('/').slice(1)
    .map(segment => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment, i) => {
      if (/^\d+$/.test(segment)) return `[${segment}]`;
      if (/^[A-Za-z_$][\w$-]*$/.test(segment)) return i === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`; // e.g. an annotation key with dots and slashes
    })
    .join('');
}

function describeObject(obj: any): string {
  const kind = obj?.kind ?? '(no kind)';
  const name = obj?.metadata?.name ?? '(no name)';
  const namespace = obj?.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
  return `${kind} ${namespace}${name} (${obj?.apiVersion ?? 'no apiVersion'})`;
}
