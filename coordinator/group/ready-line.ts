// The one ready line every long-running m2 process prints on stdout (DESIGN.md):
// `m2 ready http=http://HOST:PORT grpc=HOST:PORT model=NAME` with the fields it has. Parents
// that spawn m2 processes read it back to learn the ports picked with `--port 0`.

export interface ReadyFields {
  http?: string;
  grpc?: string;
  model?: string;
  [extra: string]: string | undefined;
}

export function formatReadyLine(fields: ReadyFields): string {
  const parts = Object.entries(fields)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  return `m2 ready ${parts.join(' ')}`;
}

/** Parses a ready line; null for any other line. */
export function parseReadyLine(line: string): ReadyFields | null {
  const m = /^m2 ready(?: (.*))?$/.exec(line.trim());
  if (!m) return null;
  const fields: ReadyFields = {};
  for (const part of (m[1] ?? '').split(' ').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq > 0) fields[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return fields;
}

/** The host clients on this machine dial for a bind address: wildcards become loopback. */
export function connectableHost(bindHost: string): string {
  if (bindHost === '0.0.0.0' || bindHost === '') return '127.0.0.1';
  if (bindHost === '::') return '[::1]';
  return bindHost.includes(':') ? `[${bindHost}]` : bindHost;
}
