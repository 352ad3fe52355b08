// OpenTelemetry metrics: one MeterProvider per program instance (so several servers in one
// test process do not share instruments), bucket boundaries set through views from
// names.ts, and a Prometheus exporter whose /metrics handler we serve on our own HTTP
// listener (port 0 works, and we know the port).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, MeterProvider, type ViewOptions } from '@opentelemetry/sdk-metrics';
import { TokenstormError } from '../errors.js';
import { BUCKETS } from './names.js';
import { registerProcessMetrics } from './process.js';

export interface MetricsEndpoint {
  readonly meter: Meter;
  /** http://host:port/metrics, or undefined when no listener was asked for. */
  readonly url: string | undefined;
  readonly port: number | undefined;
  /** The Prometheus text exposition, as a scrape would get it. */
  scrape(): Promise<string>;
  close(): Promise<void>;
}

export function histogramView(instrumentName: string, boundaries: readonly number[]): ViewOptions {
  return {
    instrumentName,
    aggregation: {
      type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
      options: { boundaries: [...boundaries] },
    },
  };
}

export interface MetricsOptions {
  serviceName: string;
  /** Histogram bucket views: instrument name → boundaries. */
  views: Record<string, readonly number[]>;
  host?: string;
  /** Port for GET /metrics; 0 picks a free port; undefined starts no listener. */
  port?: number | undefined;
  /** Process CPU, memory and event-loop metrics (src/telemetry/process.ts); default: when listening. */
  processMetrics?: boolean;
}

export async function startMetrics(opts: MetricsOptions): Promise<MetricsEndpoint> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
    views: Object.entries(opts.views).map(([name, b]) => histogramView(name, b)),
    readers: [exporter],
  });
  const meter = provider.getMeter(opts.serviceName);
  const stopProcess =
    (opts.processMetrics ?? opts.port !== undefined) ? registerProcessMetrics(meter) : () => {};
  let server: Server | undefined;
  let port: number | undefined;
  const host = opts.host ?? '127.0.0.1';
  if (opts.port !== undefined) {
    server = createServer((req, res) => {
      if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
        exporter.getMetricsRequestHandler(req, res);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not found: metrics are at GET /metrics\n');
    });
    const s = server;
    await new Promise<void>((resolve, reject) => {
      s.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new TokenstormError(
            'E_LISTEN',
            `metrics cannot listen on ${host}:${opts.port}: ${err.code ?? err.message}`,
          ),
        ),
      );
      s.listen(opts.port, host, () => resolve());
    }).catch(async (err: unknown) => {
      stopProcess();
      await provider.shutdown();
      throw err;
    });
    port = (s.address() as AddressInfo).port;
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    meter,
    url: port === undefined ? undefined : `http://${urlHost}:${port}/metrics`,
    port,
    async scrape() {
      const fake = new CollectingResponse();
      exporter.getMetricsRequestHandler({} as never, fake as never);
      return fake.done;
    },
    async close() {
      stopProcess();
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        });
      }
      await provider.shutdown();
    },
  };
}

/** A ServerResponse stand-in that collects what the exporter's handler writes. */
class CollectingResponse {
  statusCode = 200;
  private body = '';
  private resolve!: (s: string) => void;
  readonly done = new Promise<string>((r) => {
    this.resolve = r;
  });
  setHeader(): void {}
  end(chunk?: string): void {
    if (chunk) this.body += chunk;
    this.resolve(this.body);
  }
}

export { BUCKETS };
