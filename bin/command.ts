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

/** `--max-num-seqs` <-> `M2_MAX_NUM_SEQS`: the chart configures processes through env vars. */
export function envName(option: string): string {
  return `M2_${option.replace(/-/g, '_').toUpperCase()}`;
}

function applyEnvDefaults(cmd: Command, values: ParsedValues, env: NodeJS.ProcessEnv): void {
  for (const [name, spec] of Object.entries(cmd.options)) {
    const fromEnv = env[envName(name)];
    if (values[name] !== undefined || fromEnv === undefined || fromEnv === '') continue;
    if (spec.type === 'boolean') {
      if (!/^(1|0|true|false)$/i.test(fromEnv)) throw new CliError(`${envName(name)} must be true or false, got ${JSON.stringify(fromEnv)}`, 2);
      values[name] = /^(1|true)$/i.test(fromEnv);
    } else {
      values[name] = fromEnv;
    }
  }
}

/** Parses argv strictly; options not given on the command line fall back to their M2_* env var. */
export function parseCommandArgs(cmd: Command, argv: string[], env: NodeJS.ProcessEnv = process.env): { values: ParsedValues; positionals: string[]; help: boolean } {
  let parsed: { values: ParsedValues; positionals: string[] };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    parsed = { values: values as ParsedValues, positionals };
  } catch (err) {
    throw new CliError(`${(err as Error).message.split('\n')[0]} (see: m2 ${cmd.name} --help)`, 2);
  }
  applyEnvDefaults(cmd, parsed.values, env);
  return { ...parsed, help: parsed.values.help === true };
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
