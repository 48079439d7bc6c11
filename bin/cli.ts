// The `m2` command line: one subcommand per module in bin/commands. Errors are one line on
// stderr and a non-zero exit (2 for usage errors), never a stack trace for user mistakes.
import { CliError, parseCommandArgs, type Command } from './command.ts';
import { EXIT_WITH_PARENT_ENV } from '../coordinator/group/child-process.ts';
import { makeModelCommand } from './commands/make-model.ts';
import { routerCommand } from './commands/router.ts';
import { workerCommand } from './commands/worker.ts';
import { generateCommand } from './commands/generate.ts';
import { coordinatorCommand } from './commands/coordinator.ts';
import { serveCommand } from './commands/serve.ts';
import { exportGgufCommand } from './commands/export-gguf.ts';

const COMMANDS: Command[] = [serveCommand, makeModelCommand, generateCommand, coordinatorCommand, workerCommand, routerCommand, exportGgufCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: m2 <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `m2 <command> --help` for the options of a command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) throw new CliError(`unknown command ${JSON.stringify(name)} (see: m2 --help)`, 2);
  const { values, positionals, help } = parseCommandArgs(cmd, rest);
  if (help) {
    console.log(cmd.usage);
    return 0;
  }
  return cmd.run(values, positionals);
}

if (process.env[EXIT_WITH_PARENT_ENV] === '1') {
  // Spawned by another m2 process: its death closes our stdin; shut down as on SIGTERM.
  process.stdin.on('close', () => process.kill(process.pid, 'SIGTERM'));
  process.stdin.resume();
  // The lifeline must not keep a finished command alive.
  (process.stdin as NodeJS.ReadStream & { unref?: () => void }).unref?.();
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  const e = err as Error;
  const code = err instanceof CliError ? err.exitCode : 1;
  console.error(`m2: ${e.message}`);
  if (process.env.M2_DEBUG) console.error(e.stack);
  process.exitCode = code;
}
