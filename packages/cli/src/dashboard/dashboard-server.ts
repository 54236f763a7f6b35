import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { DEFAULTS, E11Error, ErrorCode } from '@e11/core';
import { serviceStore } from '@e11/core/engine';
import { type AuthorizeOrchestration, createSseHandler, type OrchestrationService } from '@e11/sdk';

import { handleApi, sendError, sendJson } from './api-routes.js';
import { checkTraceUrlTemplate, DEFAULT_TRACE_URL_TEMPLATE } from './console-links.js';
import { JobListings } from './job-listings.js';
import { DASHBOARD_CSS } from './page-css.js';
import { DASHBOARD_HTML } from './page-html.js';
import { loadBrowserScripts, loadChartJs } from './page-script.js';

/** Options of {@link createDashboardServer}. Every field is optional. */
export interface DashboardOptions {
  /** @default DEFAULTS.dashboardPort (8787); 0 picks a free port */
  port?: number;
  /** @default DEFAULTS.dashboardHost ('127.0.0.1'): loopback only, since the page shows params and can retry jobs */
  host?: string;
  /**
   * Which orchestrations a request may see and retry; a pipeline is seen when every orchestration of its
   * stages is (and it has one). @default every one (a local, single-user tool)
   */
  authorize?: AuthorizeOrchestration;
  /** Keep-alive interval of the SSE streams. @default DEFAULTS.sseKeepAliveMs */
  keepAliveMs?: number;
  /**
   * The Google Cloud project the "logs" and trace links open in the console.
   * @default the project of the service's Firestore client
   */
  projectId?: string;
  /**
   * The link of an orchestration's trace id: an http(s) URL where `{traceId}` (and `{projectId}`) are
   * replaced. @default Cloud Trace's console, `https://console.cloud.google.com/traces/list?project={projectId}&tid={traceId}`
   */
  traceUrlTemplate?: string;
}

/** A running dashboard. */
export interface DashboardServer {
  /** e.g. `http://127.0.0.1:8787/` */
  readonly url: string;
  /** Stops the server and ends open streams (their listeners are detached). Single-flight. */
  close(): Promise<void>;
}

const JS = 'text/javascript; charset=utf-8';

/**
 * The page and its assets by path: the compiled browser modules and chart.js from the installed
 * package, read once per server.
 */
function staticAssets(
  scripts: Record<string, string>,
  chartJs: string,
): Record<string, { type: string; body: string }> {
  return {
    '/': { type: 'text/html; charset=utf-8', body: DASHBOARD_HTML },
    ...Object.fromEntries(
      Object.entries(scripts).map(([name, body]) => [`/assets/${name}`, { type: JS, body }]),
    ),
    '/assets/chart.js': { type: JS, body: chartJs },
    '/assets/dashboard.css': { type: 'text/css; charset=utf-8', body: DASHBOARD_CSS },
  };
}

/**
 * The project of the service's Firestore client, once known: the client's `projectId` getter (left out
 * of its typings) throws until the project is set or learnt from the credentials at its first request.
 */
function firestoreProject(service: OrchestrationService): () => string | null {
  const { firestore } = serviceStore(service);
  return () => {
    try {
      const projectId: unknown = Reflect.get(firestore, 'projectId');
      return typeof projectId === 'string' ? projectId : null;
    } catch {
      return null;
    }
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Starts the web dashboard on a plain `node:http` server: one page (list of orchestrations, live
 * progress bars over SSE, per orchestration a grid of its jobs coloured by status, a chart of jobs
 * running and ended over time, a histogram of durations, its cost and trace link, each job's params,
 * attempts, error and logs link, failed jobs with a Retry button, metrics, pipelines with their
 * stages) and the small JSON API it uses; chart.js is served from the installed package. On a loopback address it only answers requests whose
 * Host header is loopback (no DNS rebinding), and retries need a header only the page sends (no
 * cross-site POST).
 * `e11 dashboard` runs this.
 */
export async function createDashboardServer(
  service: OrchestrationService,
  options: DashboardOptions = {},
): Promise<DashboardServer> {
  const host = options.host ?? DEFAULTS.dashboardHost;
  const port = options.port ?? DEFAULTS.dashboardPort;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `port must be an integer from 0 to 65535, got ${String(port)}.`,
      {
        context: { path: 'port' },
      },
    );
  }
  const traceUrlTemplate = checkTraceUrlTemplate(options.traceUrlTemplate ?? DEFAULT_TRACE_URL_TEMPLATE);
  const [scripts, chartJs] = await Promise.all([loadBrowserScripts(), loadChartJs()]);
  const assets = staticAssets(scripts, chartJs);
  const authorize = options.authorize ?? (() => true);
  // The default route of the SSE handler matches `/api/orchestrations/{id}/events`.
  const sse = createSseHandler(service, { authorize, keepAliveMs: options.keepAliveMs });
  const projectId = options.projectId;
  const context = {
    service,
    authorize,
    authorizesAll: options.authorize === undefined,
    sse,
    jobListings: new JobListings(),
    projectId: projectId === undefined ? firestoreProject(service) : () => projectId,
    traceUrlTemplate,
  };
  const checkHost = LOOPBACK.has(host);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const hostname = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (checkHost && !LOOPBACK.has(hostname)) {
      sendJson(res, 403, {
        error: { code: ErrorCode.Forbidden, message: 'The dashboard answers on loopback host names only.' },
      });
      return;
    }
    const asset = req.method === 'GET' ? assets[url.pathname] : undefined;
    if (asset) {
      res.writeHead(200, {
        'content-type': asset.type,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'content-security-policy':
          "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'",
      });
      res.end(asset.body);
      return;
    }
    try {
      if (url.pathname.startsWith('/api/') && (await handleApi(context, req, res, url))) return;
      sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `Nothing at ${url.pathname}.` } });
    } catch (error) {
      if (!res.headersSent) sendError(res, error);
      else res.end();
    }
  };

  // handle() answers its own errors; this catch only guards against one thrown while answering.
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}/`,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      })),
  };
}
