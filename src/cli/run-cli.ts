import { diffCommand } from './diff-command';
import { explainCommand } from './explain-command';
import { Output } from './output';
import { testCommand } from './test-command';
import { HELP, USAGE, UsageError } from './usage';

const COMMANDS: Record<string, (args: string[], io: Output) => number> = { explain: explainCommand, diff: diffCommand, test: testCommand };

/** Runs `cdk8s-hostnet <command> ...` and returns the exit code: 0 fine, 1 changed or failed, 2 a usage or input error. */
export function runCli(argv: string[], io: Output): number {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.err : io.out)(`${HELP}\n`);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    io.err(`cdk8s-hostnet: unknown command ${JSON.stringify(command)}; commands: ${Object.keys(COMMANDS).join(', ')} (--help shows how)\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.out(`usage: ${USAGE[command as keyof typeof USAGE]}\n`);
    return 0;
  }
  try {
    return run(args, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`cdk8s-hostnet: ${error.message}\n`);
    if (error.showUsage) io.err(`usage: ${USAGE[command as keyof typeof USAGE]}\n`);
    return 2;
  }
}
