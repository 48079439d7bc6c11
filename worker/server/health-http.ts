// The plain-HTTP health port of a worker or coordinator process (DESIGN.md ports 9071+rank and
// 9061): GET /health answers while the process is alive; GET /ready answers 200 only when the
// readiness check passes (Kubernetes probes and the router read these); GET /metrics serves the
// process's Prometheus registry when it has one.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { writeMetrics } from '../../coordinator/metrics/metrics-http.ts';

export interface Readiness {
  ready: boolean;
  detail: Record<string, unknown>;
}

export interface HealthServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export function startHealthServer(host: string, port: number, check: () => Promise<Readiness>, metrics?: Registry): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return reply(405, { error: 'method not allowed' });
    if (req.url === '/health') return reply(200, { status: 'ok' });
    if (req.url === '/metrics' && metrics) return void writeMetrics(res, metrics);
    if (req.url === '/ready') {
      check().then(
        (r) => reply(r.ready ? 200 : 503, { ready: r.ready, ...r.detail }),
        (err: Error) => reply(503, { ready: false, error: err.message }),
      );
      return;
    }
    reply(404, { error: 'not found' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
