import { createServer } from 'node:net';

import type { ServiceDefinition, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import { Metadata, Server, ServerCredentials, status } from '@grpc/grpc-js';

import type { EmulatorCore } from './core.js';
import { CloudRunEmulatorError } from './errors.js';
import { executionsHandlers } from './executions-service.js';
import type { CloudRunEmulatorLogger } from './interfaces.js';
import { jobsHandlers } from './jobs-service.js';
import { operationsHandlers } from './operations-service.js';
import { loadCloudRunServices } from './protos.js';
import { RpcError } from './rpc-error.js';
import type { UnaryHandler, UnaryHandlers } from './server-types.js';
import { tasksHandlers } from './tasks-service.js';

function toServiceError(
  error: unknown,
  method: string,
  logger: CloudRunEmulatorLogger,
): Partial<ServiceError> {
  if (error instanceof RpcError)
    return { code: error.code, details: error.message, metadata: new Metadata() };
  logger.error({ err: error, method }, 'Cloud Run emulator RPC failed');
  const message = error instanceof Error ? error.message : String(error);
  return { code: status.INTERNAL, details: `Internal error in the Cloud Run Jobs emulator: ${message}` };
}

function unary(method: string, handler: UnaryHandler, core: EmulatorCore, logger: CloudRunEmulatorLogger) {
  return (
    call: Parameters<UnaryHandler>[1],
    callback: (error: Partial<ServiceError> | null, value?: unknown) => void,
  ) => {
    core.calls[method] = (core.calls[method] ?? 0) + 1;
    void (async () => {
      try {
        callback(null, await handler(call.request as never, call));
      } catch (error) {
        callback(toServiceError(error, method, logger));
      }
    })();
  };
}

function addService(
  server: Server,
  definition: ServiceDefinition,
  handlers: UnaryHandlers,
  core: EmulatorCore,
  logger: CloudRunEmulatorLogger,
): void {
  const implementation: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    if (!(method in definition)) throw new Error(`The Cloud Run protos have no method ${method}`);
    implementation[method] = unary(method, handler, core, logger);
  }
  // Methods without a handler answer UNIMPLEMENTED (grpc-js does that for missing ones).
  server.addService(definition, implementation);
}

/** A gRPC server with the Jobs, Executions, Tasks and Operations services on `core`. */
export function createCloudRunServer(core: EmulatorCore, logger: CloudRunEmulatorLogger): Server {
  const services = loadCloudRunServices();
  const server = new Server();
  addService(server, services.jobs, jobsHandlers(core), core, logger);
  addService(server, services.executions, executionsHandlers(core), core, logger);
  addService(server, services.tasks, tasksHandlers(core), core, logger);
  addService(server, services.operations, operationsHandlers(core), core, logger);
  return server;
}

function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatEndpoint(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function portInUse(host: string, port: number): CloudRunEmulatorError {
  return new CloudRunEmulatorError(
    'E11_PORT_IN_USE',
    `Port ${port} on ${host} is already in use: the Cloud Run Jobs emulator cannot listen there; stop the process ` +
      `holding it (\`lsof -i :${port}\`) or choose another port.`,
  );
}

/**
 * Binds the server and resolves with the port. A port already in use fails with one clear
 * `E11_PORT_IN_USE` line (checked first, so grpc-js does not log its own error).
 */
export async function bindServer(server: Server, host: string, port: number): Promise<number> {
  if (port !== 0 && !(await isPortFree(host, port))) throw portInUse(host, port);
  return new Promise((resolve, reject) => {
    server.bindAsync(formatEndpoint(host, port), ServerCredentials.createInsecure(), (error, boundPort) => {
      if (!error) return resolve(boundPort);
      if (error.message.includes('EADDRINUSE')) return reject(portInUse(host, port));
      reject(
        new CloudRunEmulatorError(
          'E11_CLOUD_RUN_START_FAILED',
          `The Cloud Run Jobs emulator cannot listen on ${formatEndpoint(host, port)}: ${error.message}`,
          { cause: error },
        ),
      );
    });
  });
}

/** Stops accepting calls and waits for those in flight, forcing them closed after `graceMs`. */
export function shutdownServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
