// The routing flag shared by the commands that start a router (`m2 router`, `m2 serve`): beta, the
// load weight of the prefix-aware score (router/routing/prefix-aware-policy.ts), validated once.
import { checkRoutingBeta, DEFAULT_ROUTING_BETA } from '../router/routing/prefix-aware-policy.ts';
import { CliError, stringOpt, type OptionSpec, type ParsedValues } from './command.ts';

export const ROUTING_OPTIONS: OptionSpec = {
  'routing-beta': { type: 'string' },
};

export const ROUTING_USAGE = `  --routing-beta B         load weight in the replica score matched_prefix/prompt - B * load/max_load
                           (default ${DEFAULT_ROUTING_BETA}; 0 = prefix only; a session sticks to its replica while ready)   M2_ROUTING_BETA`;

export function parseRoutingBeta(values: ParsedValues): number | undefined {
  const raw = stringOpt(values, 'routing-beta');
  if (raw === undefined) return undefined;
  try {
    return checkRoutingBeta(raw.trim() === '' ? Number.NaN : Number(raw));
  } catch {
    throw new CliError(`--routing-beta must be a number >= 0, got ${JSON.stringify(raw)}`, 2);
  }
}
