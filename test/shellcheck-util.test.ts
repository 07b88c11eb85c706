import { shellcheck } from './util/shellcheck';

describe('shellcheck', () => {
  test('a clean POSIX script has no findings', () => {
    const script = [
      '#!/bin/sh',
      'set -eu',
      'chain="HOSTNET-UDP"',
      'echo "ensuring chain $chain"',
      '',
    ].join('\n');

    expect(shellcheck(script, 'clean.sh')).toEqual([]);
  });

  test('an unquoted expansion is reported as SC2086, under the given name', () => {
    const script = '#!/bin/sh\nx="a b"\necho $x\n';

    expect(shellcheck(script, 'unquoted.sh')).toEqual([
      expect.stringMatching(/^unquoted\.sh:3:6: .*\[SC2086\]$/),
    ]);
  });

  test('bashisms are findings, because the scripts run under dash', () => {
    const script = '#!/bin/sh\nif [[ -n "${1:-}" ]]; then echo yes; fi\n';

    expect(shellcheck(script, 'bashism.sh')).toEqual([expect.stringContaining('[SC3010]')]);
  });
});
