import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { CloudSchedulerClient } from '@google-cloud/scheduler';
import {
  credentials,
  type sendUnaryData,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** A Cloud Scheduler job as proto-loader reads and writes it (camelCase, enums by name, bytes as Buffer). */
export interface FakeJob {
  name: string;
  description?: string;
  schedule?: string;
  timeZone?: string;
  state?: string;
  httpTarget?: {
    uri?: string;
    httpMethod?: string;
    headers?: Record<string, string>;
    body?: Buffer;
    oidcToken?: { serviceAccountEmail?: string; audience?: string } | null;
  } | null;
  retryConfig?: { retryCount?: number } | null;
  attemptDeadline?: { seconds?: string | number } | null;
  [field: string]: unknown;
}

/** One RPC the server answered (or refused), in order. */
export interface ReceivedCall {
  method: string;
  request: Record<string, unknown>;
}

/** A tiny real gRPC server speaking `google.cloud.scheduler.v1.CloudScheduler` from the client's own protos. */
export interface CloudSchedulerServer {
  readonly port: number;
  readonly calls: ReceivedCall[];
  readonly jobs: Map<string, FakeJob>;
  /** The next call of `method` fails with `code` (a gRPC status). */
  failNext(method: string, code: number, message?: string): void;
  /** The real `CloudSchedulerClient`, pointed at this server over plain gRPC. */
  client(): CloudSchedulerClient;
  close(): Promise<void>;
}

function loadService(): ServiceDefinition {
  const require = createRequire(import.meta.url);
  const schedulerProtos = join(dirname(require.resolve('@google-cloud/scheduler')), '..', 'protos');
  const gaxProtos = join(dirname(require.resolve('google-gax')), '..', 'protos');
  const definition = loadSync('google/cloud/scheduler/v1/cloudscheduler.proto', {
    includeDirs: [schedulerProtos, gaxProtos],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const service = definition['google.cloud.scheduler.v1.CloudScheduler'];
  if (!service || 'format' in service) throw new Error('CloudScheduler service missing from the protos');
  return service;
}

/** Starts the server on a free loopback port. */
export async function startCloudSchedulerServer(): Promise<CloudSchedulerServer> {
  const calls: ReceivedCall[] = [];
  const jobs = new Map<string, FakeJob>();
  const faults = new Map<string, { code: number; message: string }>();
  const clients: CloudSchedulerClient[] = [];

  type Handler = (request: Record<string, unknown>) => { ok: unknown } | { code: number; message: string };
  const notFound = (name: unknown) => ({ code: status.NOT_FOUND, message: `Job ${String(name)} not found.` });
  const withState = (name: unknown, state: string) => {
    const job = jobs.get(String(name));
    if (!job) return notFound(name);
    job.state = state;
    return { ok: job };
  };
  const handlers: Record<string, Handler> = {
    CreateJob: (request) => {
      const job = request.job as FakeJob;
      if (!String(job.name).startsWith(`${String(request.parent)}/jobs/`)) {
        return { code: status.INVALID_ARGUMENT, message: 'job.name must be under parent' };
      }
      if (jobs.has(job.name)) return { code: status.ALREADY_EXISTS, message: `Job ${job.name} exists.` };
      const created = { ...job, state: 'ENABLED' };
      jobs.set(job.name, created);
      return { ok: created };
    },
    UpdateJob: (request) => {
      const job = request.job as FakeJob;
      const existing = jobs.get(job.name);
      if (!existing) return notFound(job.name);
      const paths = ((request.updateMask as { paths?: string[] } | undefined)?.paths ?? []).map((path) =>
        path.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()),
      );
      for (const path of paths) existing[path] = job[path];
      return { ok: existing };
    },
    GetJob: (request) => {
      const job = jobs.get(String(request.name));
      return job ? { ok: job } : notFound(request.name);
    },
    DeleteJob: (request) => (jobs.delete(String(request.name)) ? { ok: {} } : notFound(request.name)),
    PauseJob: (request) => withState(request.name, 'PAUSED'),
    ResumeJob: (request) => withState(request.name, 'ENABLED'),
    ListJobs: () => ({ ok: { jobs: [...jobs.values()] } }),
  };

  const implementation: UntypedServiceImplementation = {};
  for (const method of Object.keys(loadService())) {
    implementation[method] = (
      call: ServerUnaryCall<Record<string, unknown>, unknown>,
      callback: sendUnaryData<unknown>,
    ) => {
      calls.push({ method, request: call.request });
      const fault = faults.get(method);
      if (fault) {
        faults.delete(method);
        callback({ code: fault.code, details: fault.message });
        return;
      }
      const handler = handlers[method];
      const outcome = handler
        ? handler(call.request)
        : { code: status.UNIMPLEMENTED, message: `${method} is not served` };
      if ('ok' in outcome) callback(null, outcome.ok);
      else callback({ code: outcome.code, details: outcome.message });
    };
  }

  const server = new Server();
  server.addService(loadService(), implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );

  return {
    port,
    calls,
    jobs,
    failNext(method, code, message = `injected ${method} failure`) {
      faults.set(method, { code, message });
    },
    client() {
      const client = new CloudSchedulerClient({
        apiEndpoint: '127.0.0.1',
        port,
        sslCreds: credentials.createInsecure(),
        universeDomain: 'googleapis.com',
        projectId: 'demo-e11',
      });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((client) => client.close()));
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
