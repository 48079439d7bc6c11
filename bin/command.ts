// The shape of one `m2` subcommand and the argument handling they all share: node's parseArgs
// (strict), `--help` everywhere, and usage errors that exit 2 with one clear line.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  summary: string;
  /** Full help text shown by `m2 <name> --help`. */
  usage: string;
  options: OptionSpec;
  run(values: ParsedValues, positionals: string[]): Promise<number>;
}

export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** A user-facing error: printed as one line, exit code 1 (2 for usage errors). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export function parseCommandArgs(cmd: Command, argv: string[]): { values: ParsedValues; positionals: string[]; help: boolean } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    return { values: values as ParsedValues, positionals, help: values.help === true };
  } catch (err) {
    throw new CliError(`${(err as Error).message.split('\n')[0]} (see: m2 ${cmd.name} --help)`, 2);
  }
}

export function stringOpt(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function intOpt(values: ParsedValues, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = stringOpt(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(`--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`, 2);
  }
  return n;
}

export function choiceOpt<T extends string>(values: ParsedValues, name: string, choices: readonly T[]): T | undefined {
  const v = stringOpt(values, name);
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v)) throw new CliError(`--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`, 2);
  return v as T;
}
