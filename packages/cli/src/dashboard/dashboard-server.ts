import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { DEFAULTS, E11Error, ErrorCode } from '@e11/core';
import { type AuthorizeOrchestration, createSseHandler, type OrchestrationService } from '@e11/sdk';

import { handleApi, sendError, sendJson } from './api-routes.js';
import { DASHBOARD_CSS } from './page-css.js';
import { DASHBOARD_HTML } from './page-html.js';
import { loadDashboardScript } from './page-script.js';

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
}

/** A running dashboard. */
export interface DashboardServer {
  /** e.g. `http://127.0.0.1:8787/` */
  readonly url: string;
  /** Stops the server and ends open streams (their listeners are detached). Single-flight. */
  close(): Promise<void>;
}

/** The page and its assets by path; the script is the compiled browser code, read once per server. */
function staticAssets(script: string): Record<string, { type: string; body: string }> {
  return {
    '/': { type: 'text/html; charset=utf-8', body: DASHBOARD_HTML },
    '/assets/dashboard.js': { type: 'text/javascript; charset=utf-8', body: script },
    '/assets/dashboard.css': { type: 'text/css; charset=utf-8', body: DASHBOARD_CSS },
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Starts the web dashboard on a plain `node:http` server: one page (list of orchestrations, live
 * progress bars over SSE, failed jobs with params and errors, a Retry button, metrics, pipelines with
 * their stages) and the small JSON API it uses. On a loopback address it only answers requests whose
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
  const assets = staticAssets(await loadDashboardScript());
  const authorize = options.authorize ?? (() => true);
  // The default route of the SSE handler matches `/api/orchestrations/{id}/events`.
  const sse = createSseHandler(service, { authorize, keepAliveMs: options.keepAliveMs });
  const context = { service, authorize, authorizesAll: options.authorize === undefined, sse };
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
