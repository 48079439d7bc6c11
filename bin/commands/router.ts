// `m2 router`: the stateless front door alone, in front of coordinators that run elsewhere (the
// chart's router Deployment). Every flag has an M2_* environment variable (flag wins), and
// SIGTERM drains: stop admitting, let streams finish within the grace period, exit 0.
import { DEFAULT_DRAIN_GRACE_MS, DEFAULT_MAX_BODY_BYTES, startRouter } from '../../router/router.ts';
import { NATS_OPTIONS, natsUrlOpt } from '../nats-option.ts';
import { CliError, intOpt, stringOpt, type Command, type OptionSpec, type ParsedValues } from '../command.ts';
import { parseRoutingBeta, ROUTING_OPTIONS, ROUTING_USAGE } from '../routing-options.ts';

const OPTIONS: OptionSpec = {
  port: { type: 'string' },
  'grpc-port': { type: 'string' },
  host: { type: 'string' },
  coordinators: { type: 'string' },
  model: { type: 'string' },
  'served-model-name': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'drain-timeout': { type: 'string' },
  ...ROUTING_OPTIONS,
  ...NATS_OPTIONS,
};

/** `--grpc-port` <- M2_GRPC_PORT, for every option the command line left out. */
function withEnvironment(values: ParsedValues, env: NodeJS.ProcessEnv): ParsedValues {
  const merged: ParsedValues = { ...values };
  for (const name of Object.keys(OPTIONS)) {
    const fromEnv = env[`M2_${name.toUpperCase().replaceAll('-', '_')}`];
    if (merged[name] === undefined && fromEnv !== undefined && fromEnv !== '') merged[name] = fromEnv;
  }
  return merged;
}

function coordinatorList(raw: string | undefined, natsUrl: string | undefined): string[] {
  const list = (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0 && natsUrl === undefined) throw new CliError('--coordinators is required (host:port[,host:port...]) unless --nats URL finds them', 2);
  for (const address of list) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(address)) throw new CliError(`--coordinators: ${JSON.stringify(address)} is not host:port`, 2);
  }
  return list;
}

export const routerCommand: Command = {
  name: 'router',
  summary: 'serve the OpenAI-compatible HTTP and gRPC APIs in front of running coordinators',
  usage: `Usage: m2 router (--coordinators host:port[,host:port...] | --nats URL) --model DIR [options]

Renders chat templates, tokenizes, routes each request to a ready coordinator (a session sticks
to its replica while it is ready; otherwise the best prefix-cache match weighed against load) and
serves POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health, GET /ready,
GET /metrics over HTTP and m2.v1.GenerateService (+ grpc.health.v1.Health, reflection) over gRPC. Prints
"m2 ready http=... grpc=... model=..." once serving. SIGTERM drains, then exits 0.

Options (each also read from the environment variable shown; the flag wins):
  --coordinators LIST      coordinator gRPC addresses, comma-separated   M2_COORDINATORS
  --nats URL               also add the coordinators of this model that  M2_NATS
                           announce themselves on NATS (nats://host:4222); they leave
                           when they say so or after 3 missed heartbeats; NATS may
                           start later or restart: the router keeps retrying
  --model DIR              model folder (tokenizer, template, config)    M2_MODEL
  --served-model-name N    the "model" clients send (default: folder name) M2_SERVED_MODEL_NAME
  --port P                 HTTP port, 0 = pick a free one (default 8000) M2_PORT
  --grpc-port P            gRPC port, 0 = pick a free one (default 50051) M2_GRPC_PORT
  --host H                 bind address (default 0.0.0.0)                M2_HOST
  --max-body-bytes N       largest request body (default ${DEFAULT_MAX_BODY_BYTES})   M2_MAX_BODY_BYTES
  --drain-timeout S        seconds in-flight requests get on SIGTERM (default ${DEFAULT_DRAIN_GRACE_MS / 1000}) M2_DRAIN_TIMEOUT
${ROUTING_USAGE}`,
  options: OPTIONS,
  async run(flags) {
    const values = withEnvironment(flags, process.env);
    const modelDir = stringOpt(values, 'model');
    if (!modelDir) throw new CliError('--model is required (a model folder, e.g. from m2 make-model)', 2);
    const natsUrl = natsUrlOpt(values);
    const coordinators = coordinatorList(stringOpt(values, 'coordinators'), natsUrl);
    const drainMs = (intOpt(values, 'drain-timeout', 0, 24 * 3600) ?? DEFAULT_DRAIN_GRACE_MS / 1000) * 1000;
    const routingBeta = parseRoutingBeta(values);
    let router;
    try {
      router = await startRouter({
        modelDir,
        servedModelName: stringOpt(values, 'served-model-name'),
        coordinators,
        natsUrl,
        host: stringOpt(values, 'host') ?? '0.0.0.0',
        httpPort: intOpt(values, 'port', 0, 65535) ?? 8000,
        grpcPort: intOpt(values, 'grpc-port', 0, 65535) ?? 50051,
        maxBodyBytes: intOpt(values, 'max-body-bytes', 1) ?? DEFAULT_MAX_BODY_BYTES,
        routingBeta,
      });
    } catch (err) {
      throw new CliError(`cannot start the router: ${(err as Error).message.split('\n')[0]}`);
    }
    console.log(router.readyLine);
    const running = router;
    return new Promise<number>((resolve) => {
      const stop = (signal: string) => {
        console.error(`m2 router: ${signal}: draining (up to ${drainMs / 1000} s)`);
        running.shutdown(drainMs).then(() => resolve(0), (err: unknown) => {
          console.error(`m2 router: shutdown failed: ${(err as Error).message}`);
          resolve(1);
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  },
};
