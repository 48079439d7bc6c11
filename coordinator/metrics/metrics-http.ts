// Answers `GET /metrics` in the Prometheus text format on any node:http server (the router's HTTP
// port, the coordinator's and workers' health ports), so each process exposes its registry the
// same way.
import type { ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export async function writeMetrics(res: ServerResponse, registry: Registry): Promise<void> {
  try {
    const body = await registry.metrics();
    if (res.headersSent || res.destroyed) return;
    res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } catch (err) {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`collecting metrics failed: ${(err as Error).message}\n`);
  }
}
