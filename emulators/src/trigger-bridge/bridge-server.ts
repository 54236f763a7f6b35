import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createLogger, type Logger } from '@e11/core';

import { StackError } from '../errors.js';

import {
  type DeliveryOptions,
  type RouteFaults,
  type RouteSpec,
  routeSpecSchema,
  type RouteStats,
} from './interfaces.js';
import { registerJobTrigger, type RegisteredTrigger } from './register-trigger.js';
import { Route } from './route.js';

/** Options for {@link startTriggerBridge}. */
export interface TriggerBridgeOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** Where the Firestore emulator delivers (`--functions_emulator`); 0 picks a free port. */
  port: number;
  /** `host:port` of the Firestore emulator, for {@link TriggerBridge.registerJobTrigger}. */
  firestoreHost: string;
  /** Retry and concurrency settings of every route. */
  delivery?: Partial<DeliveryOptions>;
  /** @default a Cloud Logging-shaped pino logger (`e11-trigger-bridge`) */
  logger?: Logger;
}

/** The running bridge. */
export interface TriggerBridge {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  /** Routes the events of one trigger to a function (replacing any earlier route of that trigger). */
  route(spec: RouteSpec): Route;
  /** Resumes the deliveries a route parked (`holdFailed`); returns how many. */
  release(projectId: string, triggerId: string): number;
  /** Counters of a route, or undefined when there is none. */
  stats(projectId: string, triggerId: string): RouteStats | undefined;
  /** Registers a job trigger on the Firestore emulator and routes it to `target` through this bridge. */
  registerJobTrigger(options: {
    projectId: string;
    target: string;
    collectionPrefix?: string;
    triggerId?: string;
    faults?: RouteFaults;
  }): Promise<RegisteredTrigger>;
  /** Closes the server and cancels every pending delivery. Single-flight. */
  stop(): Promise<void>;
}

const DELIVERY_DEFAULTS: DeliveryOptions = {
  maxAttempts: 8,
  initialBackoffMs: 100,
  maxBackoffMs: 2_000,
  concurrency: 32,
  attemptTimeoutMs: 60_000,
};

/** Longest a stats request may wait for a route to become idle. */
const MAX_IDLE_WAIT_MS = 120_000;

const TRIGGER_PATH = /^\/functions\/projects\/([^/]+)\/triggers\/([^/?]+)$/;
const ROUTE_PATH = /^\/_e11\/routes\/([^/]+)\/([^/]+)(\/stats|\/release)?$/;

const routeKey = (projectId: string, triggerId: string) => `${projectId}\n${triggerId}`;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The local stand-in for Eventarc between the Firestore emulator and the Functions Framework: it
 * listens where the emulator delivers trigger CloudEvents (`POST /functions/projects/{project}/
 * triggers/{triggerId}`, binary mode), acknowledges each at once and forwards it unchanged (headers
 * and body) to the function registered for that trigger — at least once, with retries, bounded
 * concurrency and optional faults. Routes are set in code ({@link TriggerBridge.route}) or over HTTP
 * (`POST /_e11/routes`), since tests run in other processes than the bridge; `GET
 * /_e11/routes/{project}/{trigger}/stats` reports counters and, with `?waitIdle=1&minReceived=N`,
 * answers once N events arrived and every delivery settled.
 */
export async function startTriggerBridge(options: TriggerBridgeOptions): Promise<TriggerBridge> {
  const host = options.host ?? '127.0.0.1';
  const delivery: DeliveryOptions = { ...DELIVERY_DEFAULTS, ...options.delivery };
  const logger = options.logger ?? createLogger('e11-trigger-bridge');
  const routes = new Map<string, Route>();
  const unroutedLogged = new Set<string>();

  const route = (spec: RouteSpec): Route => {
    const parsed = routeSpecSchema.parse(spec);
    const key = routeKey(parsed.projectId, parsed.triggerId);
    routes.get(key)?.close();
    const created = new Route(parsed, delivery);
    routes.set(key, created);
    return created;
  };

  const waitIdle = (target: Route, minReceived: number, timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!target.isIdle(minReceived)) return;
        finish();
      };
      const timer = setTimeout(() => finish(), timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        target.off('change', check);
        resolve();
      };
      target.on('change', check);
      check();
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://bridge');
    const trigger = TRIGGER_PATH.exec(url.pathname);
    if (trigger && req.method === 'POST') {
      const [, projectId = '', triggerId = ''] = trigger;
      const body = await readBody(req);
      const target = routes.get(routeKey(projectId, triggerId));
      if (!target) {
        const key = routeKey(projectId, triggerId);
        if (!unroutedLogged.has(key)) {
          unroutedLogged.add(key);
          logger.warn(
            { projectId, triggerId },
            'Trigger event with no route: dropped (logged once per trigger)',
          );
        }
        sendJson(res, 404, { error: `No route for trigger ${triggerId} of project ${projectId}.` });
        return;
      }
      target.receive({ headers: req.headers, body });
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/_e11/routes' && req.method === 'POST') {
      let spec: RouteSpec;
      try {
        spec = routeSpecSchema.parse(JSON.parse((await readBody(req)).toString('utf8')));
      } catch (error) {
        sendJson(res, 400, { error: error instanceof Error ? error.message : String(error) });
        return;
      }
      route(spec);
      sendJson(res, 201, { projectId: spec.projectId, triggerId: spec.triggerId });
      return;
    }
    const routePath = ROUTE_PATH.exec(url.pathname);
    if (routePath) {
      const [, projectId = '', triggerId = '', action] = routePath;
      const key = routeKey(decodeURIComponent(projectId), decodeURIComponent(triggerId));
      const target = routes.get(key);
      if (!target) {
        sendJson(res, 404, { error: 'No such route.' });
        return;
      }
      if (!action && req.method === 'DELETE') {
        target.close();
        routes.delete(key);
        res.writeHead(204).end();
        return;
      }
      if (action === '/release' && req.method === 'POST') {
        sendJson(res, 200, { released: target.release() });
        return;
      }
      if (action === '/stats' && req.method === 'GET') {
        if (url.searchParams.get('waitIdle') === '1') {
          const minReceived = Number(url.searchParams.get('minReceived') ?? '0');
          const timeoutMs = Math.min(Number(url.searchParams.get('timeoutMs') ?? '30000'), MAX_IDLE_WAIT_MS);
          await waitIdle(target, minReceived, timeoutMs);
        }
        const minReceived = Number(url.searchParams.get('minReceived') ?? '0');
        sendJson(res, 200, { ...target.snapshot(), idle: target.isIdle(minReceived) });
        return;
      }
    }
    if (url.pathname === '/_e11/health') {
      sendJson(res, 200, { ok: true });
      return;
    }
    sendJson(res, 404, { error: `Unknown path ${req.method ?? ''} ${url.pathname}.` });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error(
        { err: error instanceof Error ? error.message : String(error) },
        'Trigger bridge request failed',
      );
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new StackError(
              'E11_PORT_IN_USE',
              `Port ${options.port} (trigger bridge) on ${host} is already in use: stop the process holding it ` +
                `(\`lsof -i :${options.port}\`) or choose another with E11_BRIDGE_PORT.`,
            )
          : error,
      ),
    );
    server.listen({ host, port: options.port }, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    route,
    release: (projectId, triggerId) => routes.get(routeKey(projectId, triggerId))?.release() ?? 0,
    stats: (projectId, triggerId) => routes.get(routeKey(projectId, triggerId))?.snapshot(),
    registerJobTrigger: (trigger) =>
      registerJobTrigger({ ...trigger, firestoreHost: options.firestoreHost, bridgeUrl: url }),
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        for (const target of routes.values()) target.close();
        routes.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
