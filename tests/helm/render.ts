// Renders helm/m2-cluster with the real helm and reads the result back through kubectl's own
// decoder (`kubectl label --local --dry-run=client`, which needs no cluster), so the tests
// assert on the objects Kubernetes would receive rather than on YAML text.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runTool, type ToolRun } from './kube-tools.ts';

export const CHART_DIR = join(REPO_ROOT, 'helm', 'm2-cluster');
export const RELEASE = 'm2';
export const NAMESPACE = 'llm';

/** Values as a user would write them in a values file (JSON is valid YAML). */
export type ChartValues = { [key: string]: unknown };

/** Values as an object, or the text of a YAML values file. */
export type ValuesInput = ChartValues | string;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

function withValuesFile<T>(values: ValuesInput, use: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'm2-values-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, typeof values === 'string' ? values : JSON.stringify(values));
    return use(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Synchronous. `helm template` of the chart with `values`; the result carries the exit status and stderr. */
export function helmTemplate(values: ValuesInput, extraArgs: string[] = []): ToolRun {
  return withValuesFile(values, (file) =>
    runTool('helm', ['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--values', file, ...extraArgs]));
}

/** Synchronous. `helm lint --strict` of the chart with `values`. */
export function helmLint(values: ValuesInput): ToolRun {
  return withValuesFile(values, (file) => runTool('helm', ['lint', '--strict', CHART_DIR, '--namespace', NAMESPACE, '--values', file]));
}

/** Synchronous. The NOTES.txt a user sees after install (`helm install --dry-run=client`: no cluster needed). */
export function helmNotes(values: ValuesInput): string {
  const r = withValuesFile(values, (file) =>
    runTool('helm', ['install', RELEASE, CHART_DIR, '--dry-run=client', '--namespace', NAMESPACE, '--values', file]));
  if (r.status !== 0) throw new Error(`helm install --dry-run=client failed: ${r.stderr}`);
  const notes = r.stdout.indexOf('\nNOTES:\n');
  if (notes < 0) throw new Error('helm printed no NOTES');
  return r.stdout.slice(notes + '\nNOTES:\n'.length);
}

/** Synchronous. Rendered objects in helm's order; throws with helm's or kubectl's message when either fails. */
export function renderChart(values: ValuesInput, extraHelmArgs: string[] = []): KubeObject[] {
  const rendered = helmTemplate(values, extraHelmArgs);
  if (rendered.status !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
  // Removing a label no object has leaves every object as it is; -o jsonpath prints one JSON line each.
  const decoded = runTool('kubectl', ['label', '--local', '--dry-run=client', '-f', '-', '-o', 'jsonpath={@}{"\\n"}', 'm2-test-none-'], rendered.stdout);
  if (decoded.status !== 0) throw new Error(`kubectl could not decode the render: ${decoded.stderr}`);
  return decoded.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as KubeObject);
}

/** The one object of `kind` whose name ends with `nameSuffix`, typed as the caller's model interface. */
export function findObject<T>(objects: KubeObject[], kind: string, nameSuffix: string): T {
  const hits = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  if (hits.length !== 1) throw new Error(`expected one ${kind} named *${nameSuffix}, found ${hits.length}`);
  return hits[0] as unknown as T;
}
