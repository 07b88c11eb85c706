// The Docker reference grammar, as github.com/distribution/reference (reference.go) defines it:
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [ domain "/" ] path-component [ "/" path-component ]*
//   domain    := host [ ":" port ]
/** One path component: lowercase letters and digits, separated by `.`, `_`, `__` or dashes. */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** A registry host (DNS name, IPv4 address or bracketed IPv6 address) with an optional port. */
const DOMAIN = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]*$/;
const MAX_TAG = 128;
const MAX_NAME = 255;
/** The digest a Kubernetes node resolves: sha256 only (what registries and `crane digest` give). */
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Problem with a container image reference, or undefined. Accepted: `name:tag`,
 * `name@sha256:<64 hex>` and `name:tag@sha256:<64 hex>`. Only a digest pins the bytes; a tag is
 * mutable (its registry can move it), but it names a release, so it is accepted; `latest` and a
 * reference with neither tag nor digest are refused: they change under a node's restart.
 */
export function imageProblem(image: string): string | undefined {
  if (typeof image !== 'string' || image === '') return 'must be an image reference like registry.example/name:tag or name@sha256:<64 hex digits>';
  if (/[\s\p{Cc}]/u.test(image)) return 'has whitespace or a control character';
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(image)) return 'must not start with a URL scheme: name the registry host only, like registry.example/name:tag';
  const [reference, digest, ...moreDigests] = image.split('@');
  if (moreDigests.length > 0) return 'has more than one "@": give at most one digest';
  if (digest !== undefined && !DIGEST.test(digest)) return 'digest must be sha256: followed by 64 lowercase hex digits';
  const colon = reference.lastIndexOf(':');
  const tagged = colon > reference.lastIndexOf('/');
  const name = tagged ? reference.slice(0, colon) : reference;
  const tag = tagged ? reference.slice(colon + 1) : undefined;
  const problem = nameProblem(name);
  if (problem) return problem;
  if (tag !== undefined) {
    if (tag.length > MAX_TAG) return `tag must be at most ${MAX_TAG} characters (it has ${tag.length})`;
    if (!TAG.test(tag)) return 'tag must be letters, digits, "_", "." or "-", starting with a letter, digit or "_"';
    if (tag === 'latest' && digest === undefined) return 'tag latest names no release and moves with every push; use a release tag or a digest';
  }
  if (tag === undefined && digest === undefined) {
    return 'has neither a tag nor a digest, so it means latest; add :<release tag>, or @sha256:<digest> to pin the bytes';
  }
  return undefined;
}

function nameProblem(name: string): string | undefined {
  if (name.length > MAX_NAME) return `name must be at most ${MAX_NAME} characters (it has ${name.length})`;
  const components = name.split('/');
  // the first component is a registry when more follow and it looks like a host (as docker decides)
  const first = components[0];
  const hasDomain = components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  if (hasDomain && !DOMAIN.test(first)) return `registry "${first}" must be a host name or address with an optional :port`;
  for (const component of hasDomain ? components.slice(1) : components) {
    if (component.includes(':')) return `repository "${component}" has a ":" that is neither a registry port nor the tag separator`;
    if (component !== component.toLowerCase()) return `repository "${component}" must be lowercase`;
    if (!PATH_COMPONENT.test(component)) {
      return `repository "${component}" must be lowercase letters and digits, separated by ".", "_", "__" or dashes`;
    }
  }
  return undefined;
}
