// The `--nats URL` flag (env M2_NATS) shared by `m2 router`, `m2 coordinator` and `m2 serve`:
// where coordinators announce themselves and routers discover them (coordinator/membership/).
import { parseNatsServers } from '../coordinator/membership/nats-link.ts';
import { CliError, stringOpt, type OptionSpec, type ParsedValues } from './command.ts';

export const NATS_OPTIONS: OptionSpec = {
  nats: { type: 'string' },
};

/** The validated server list as given, or undefined when the flag is absent. */
export function natsUrlOpt(values: ParsedValues): string | undefined {
  const raw = stringOpt(values, 'nats');
  if (raw === undefined) return undefined;
  try {
    parseNatsServers(raw);
  } catch (err) {
    throw new CliError(`--nats: ${(err as Error).message}`, 2);
  }
  return raw;
}
