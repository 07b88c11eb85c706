/**
 * Problem with a container image reference, or undefined: pinned (a tag other than `latest`, or a
 * digest), so every node runs the same bytes and nothing changes under a restart.
 */
export function imageProblem(image: string): string | undefined {
  if (typeof image !== 'string' || !/^[a-z0-9][a-z0-9./_:@-]*$/.test(image) || (!image.includes('@sha256:') && !/:[\w][\w.-]*$/.test(image)) || image.endsWith(':latest')) {
    return 'must be a pinned image reference (a tag other than latest, or a digest)';
  }
  return undefined;
}
