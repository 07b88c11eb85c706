// Checks of what a CompartmentWorkload's user writes: everything here reaches a Windows command line,
// a host path, a label or an object name. Pure functions: each returns the problem in words, or
// undefined when the value is fine, so the construct can name its path and the field.

/** Characters Windows forbids in a path segment (besides the drive colon), plus control characters. */
// eslint-disable-next-line no-control-regex
const SEGMENT = /^[^\\/:*?"<>|\x00-\x1f]+$/;

/** The longest path CreateProcess accepts without long-path support (MAX_PATH, 260, minus the NUL). */
const MAX_PATH = 259;

/** What kind of Windows path a field holds. */
export type WindowsPathKind = 'directory' | 'executable';

/**
 * Problem with an absolute Windows path (`C:\dir\file.exe` or `\\server\share\file.exe`), or undefined.
 * Backslashes only, no `.`/`..` segments, no segment ending in a dot or space (Windows strips those,
 * so two spellings would name one file), no quotes: the path is passed verbatim as one argument.
 */
export function windowsPathProblem(path: string, kind: WindowsPathKind): string | undefined {
  const example = kind === 'executable' ? 'C:\\apps\\foo\\foo.exe or \\\\server\\share\\foo.exe' : 'C:\\apps\\foo';
  if (typeof path !== 'string' || path.length === 0) return `must be an absolute Windows path like ${example}`;
  if (path.length > MAX_PATH) return `is longer than ${MAX_PATH} characters (MAX_PATH)`;
  if (path.includes('/')) return `must use backslashes, like ${example}`;
  let segments: string[];
  if (/^[A-Za-z]:\\/.test(path)) {
    segments = path.slice(3).split('\\');
  } else if (path.startsWith('\\\\')) {
    segments = path.slice(2).split('\\');
    if (segments.length < 3) return `is a UNC path without \\\\server\\share\\ before the ${kind === 'executable' ? 'file' : 'folder'}`;
  } else {
    return `is not an absolute Windows path (drive letter or UNC); use one like ${example}`;
  }
  if (kind === 'directory' && segments[segments.length - 1] === '') segments = segments.slice(0, -1);
  if (segments.length === 0) return kind === 'directory' ? 'is a drive root; name a folder' : `names no file; use one like ${example}`;
  for (const segment of segments) {
    if (segment === '') return 'has an empty segment (two backslashes in a row)';
    if (segment === '.' || segment === '..') return `has a ${JSON.stringify(segment)} segment; write the path without it`;
    if (!SEGMENT.test(segment)) return `has a segment ${JSON.stringify(segment)} with a character Windows forbids in paths (quotes, <>|?*:, control characters)`;
    if (/[. ]$/.test(segment)) return `has a segment ${JSON.stringify(segment)} ending in a dot or space, which Windows strips`;
  }
  if (kind === 'executable' && !/\.exe$/i.test(path)) return 'must name an .exe file (the launcher starts it with CreateProcess, not a shell)';
  return undefined;
}

/** The folder of an absolute Windows file path. */
export function windowsDirname(path: string): string {
  return path.slice(0, path.lastIndexOf('\\'));
}

/** True for a UNC path (`\\server\share\...`), which cannot be a hostPath volume. */
export function isUncPath(path: string): boolean {
  return path.startsWith('\\\\');
}

/**
 * Problem with one command-line argument, or undefined. The argument is quoted twice on its way to the
 * executable (by containerd for cplauncher, then by cplauncher for the executable); both follow the
 * MSVCRT rules, but an executable with its own parser may not, so quotes and control characters are
 * refused. Spaces are fine: each element is one argument.
 */
export function argumentProblem(arg: string): string | undefined {
  if (typeof arg !== 'string') return 'must be a string';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(arg)) return 'has a control character (newline, tab, NUL...); pass each argument as one line';
  if (arg.includes('"')) return 'has a double quote; leave quoting to Windows: each array element is one argument, spaces included';
  return undefined;
}

/**
 * Kubernetes 1.28 environment variable names (the API server's validation), which Windows also
 * accepts: letters, digits, `-`, `.`, `_`, not starting with a digit.
 */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Problem with an environment variable name, or undefined. */
export function envNameProblem(name: string): string | undefined {
  if (!ENV_NAME.test(name)) return 'is not a valid environment variable name (letters, digits, "-", "." or "_", not starting with a digit)';
  return undefined;
}

/** Problem with an environment variable value, or undefined. */
export function envValueProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  // a Windows environment block separates variables with NUL
  if (value.includes('\0')) return 'has a NUL character, which ends a Windows environment variable';
  return undefined;
}

/**
 * Workload names: they become a Service name (DNS-1035: starting with a letter), object names with
 * suffixes such as `-launcher-99`, and label values: at most 40 characters.
 */
const WORKLOAD_NAME = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;

/** Problem with a workload name, or undefined. */
export function workloadNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || !WORKLOAD_NAME.test(name)) {
    return 'must be 1-40 lowercase letters, digits or dashes, starting with a letter and ending with a letter or digit (it becomes object names and label values)';
  }
  return undefined;
}

/** Port names (IANA_SVC_NAME): at most 15 lowercase letters, digits and single dashes, with a letter. */
export function portNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(name) || name.includes('--') || !/[a-z]/.test(name)) {
    return 'must be an IANA service name: 1-15 lowercase letters, digits and single dashes, with at least one letter';
  }
  return undefined;
}

/** Problem with a port number, or undefined. */
export function portProblem(port: number): string | undefined {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return 'must be a whole number from 1 to 65535';
  return undefined;
}

/** Kubernetes user names in a RoleBinding: printable, one line. */
export function userNameProblem(user: string): string | undefined {
  if (typeof user !== 'string' || !/^[\x21-\x7e]([\x20-\x7e]{0,251}[\x21-\x7e])?$/.test(user)) {
    return 'must be a Kubernetes user name: printable ASCII, no leading or trailing space';
  }
  return undefined;
}
