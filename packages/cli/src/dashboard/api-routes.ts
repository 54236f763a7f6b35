import type { IncomingMessage, ServerResponse } from 'node:http';

import {
  E11Error,
  ErrorCode,
  isE11Error,
  JobStatus,
  type OrchestrationStatus,
  type PipelineStatus,
} from '@e11/core';
import type {
  AuthorizeOrchestration,
  JobInfo,
  OrchestrationInfo,
  OrchestrationService,
  PipelineInfo,
  SseHandler,
} from '@e11/sdk';

import { cloudLoggingUrl, traceUrl } from './console-links.js';
import { type JobListings, jobPageLimit } from './job-listings.js';

/** A failed job as the dashboard shows it: params with the orchestration's sensitive keys redacted. */
export interface DashboardFailure {
  jobId: string;
  index: number;
  status: OrchestrationStatus;
  params: unknown;
  error: { code: string; message: string } | null;
  attempts: number;
  deadLettered: boolean;
  discarded: boolean;
  finishedAt: Date | null;
}

/** Failed jobs shown at most per orchestration. */
const MAX_FAILURES = 200;

/** What the JSON API needs. */
export interface ApiContext {
  service: OrchestrationService;
  authorize: AuthorizeOrchestration;
  /** True when no `authorize` was given: everything may be seen, and pipelines need no check. */
  authorizesAll: boolean;
  sse: SseHandler;
  /** Pages of job lists, kept between page requests. */
  jobListings: JobListings;
  /** The Google Cloud project the console links open; null while unknown. */
  projectId: () => string | null;
  /** See `DashboardOptions.traceUrlTemplate`. */
  traceUrlTemplate: string;
}

/** Console links of an orchestration, added to its JSON by the dashboard. */
export interface OrchestrationLinks {
  /** Cloud Logging's query of the orchestration's log lines; null while the project is unknown. */
  logs: string | null;
  /** The trace of its kick-off, from the trace URL template; null without `traceId` or project. */
  trace: string | null;
}

/** An orchestration as `GET /api/orchestrations/{id}` answers it: the SDK's view plus console links. */
export type DashboardOrchestration = OrchestrationInfo & { links: OrchestrationLinks };

/** A job as `GET /api/orchestrations/{id}/jobs/{jobId}` answers it: the SDK's (redacted) view plus its logs link. */
export type DashboardJob = JobInfo & { links: { logs: string | null } };

function orchestrationLinks(context: ApiContext, info: OrchestrationInfo): OrchestrationLinks {
  const projectId = context.projectId();
  if (projectId === null) return { logs: null, trace: null };
  // `traceId` is read from the JSON view when the core adds it; older views have none.
  const traceId = (info as { traceId?: unknown }).traceId;
  return {
    logs: cloudLoggingUrl({ projectId, orchestrationId: info.id }),
    trace: traceUrl(context.traceUrlTemplate, {
      projectId,
      traceId: typeof traceId === 'string' ? traceId : null,
    }),
  };
}

const STATUS_CODES: Record<string, number> = {
  [ErrorCode.UnknownOrchestration]: 404,
  [ErrorCode.UnknownJob]: 404,
  [ErrorCode.UnknownPipeline]: 404,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.InvalidOptions]: 400,
  [ErrorCode.InvalidCursor]: 400,
};

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, statusCode: number, body: unknown): void {
  res.writeHead(statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

/**
 * A path segment, percent-decoded; one that does not decode names nothing (a 404 with `code`, not a
 * 500): an orchestration by default, a pipeline or a job.
 */
function decodedSegment(
  segment: string,
  what: 'orchestration' | 'pipeline' | 'job' = 'orchestration',
): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    const code = {
      orchestration: ErrorCode.UnknownOrchestration,
      pipeline: ErrorCode.UnknownPipeline,
      job: ErrorCode.UnknownJob,
    }[what];
    throw new E11Error(code, `The ${what} id in the path is malformed.`, {
      context: { [`${what}Id`]: segment },
    });
  }
}

/** Writes an error as `{ error: { code, message } }` with the matching HTTP status. */
export function sendError(res: ServerResponse, error: unknown): void {
  const code = isE11Error(error) ? error.code : ErrorCode.Unavailable;
  const message = isE11Error(error) ? error.message : 'Internal error.';
  sendJson(res, STATUS_CODES[code] ?? 500, { error: { code, message } });
}

async function authorized(context: ApiContext, req: IncomingMessage, id: string): Promise<OrchestrationInfo> {
  const info = await context.service.getOrchestration(id);
  if (!(await context.authorize(req, info))) {
    throw new E11Error(ErrorCode.Forbidden, `Not allowed to see orchestration ${id}.`, {
      context: { orchestrationId: id },
    });
  }
  return info;
}

/**
 * Whether `authorize` lets the request see a pipeline. Its stages' orchestrations carry its tags and
 * tenant, so they decide: every one that exists must be allowed, and one must exist (a pipeline with
 * none is shown only by a dashboard without `authorize`).
 */
async function pipelineAllowed(
  context: ApiContext,
  req: IncomingMessage,
  info: PipelineInfo,
): Promise<boolean> {
  if (context.authorizesAll) return true;
  const found = await Promise.all(
    info.stages
      .filter((stage) => stage.hasOrchestration)
      .map(async (stage) =>
        context.service.getOrchestration(stage.orchestrationId).catch((error: unknown) => {
          if (isE11Error(error, ErrorCode.UnknownOrchestration)) return null;
          throw error;
        }),
      ),
  );
  const orchestrations = found.filter((item): item is OrchestrationInfo => item !== null);
  if (orchestrations.length === 0) return false;
  const allowed = await Promise.all(orchestrations.map(async (item) => context.authorize(req, item)));
  return allowed.every((answer) => answer === true);
}

async function authorizedPipeline(
  context: ApiContext,
  req: IncomingMessage,
  id: string,
): Promise<PipelineInfo> {
  const info = await context.service.getPipeline(id);
  if (!(await pipelineAllowed(context, req, info))) {
    throw new E11Error(ErrorCode.Forbidden, `Not allowed to see pipeline ${id}.`, {
      context: { pipelineId: id },
    });
  }
  return info;
}

/** `?status=` and `?limit=` of the pipeline list, as given (the service checks them: 400 for bad ones). */
function pipelineFilters(url: URL): { status?: PipelineStatus; limit?: number } {
  const status = optional(url.searchParams.get('status'));
  const limit = optional(url.searchParams.get('limit'));
  return {
    ...(status === undefined ? {} : { status: status as PipelineStatus }),
    ...(limit === undefined ? {} : { limit: Number(limit) }),
  };
}

async function failures(context: ApiContext, id: string): Promise<DashboardFailure[]> {
  const jobs = await context.service.listJobs(id, { status: JobStatus.Errored });
  return jobs.slice(0, MAX_FAILURES).map((job) => ({
    jobId: job.id,
    index: job.index,
    status: job.status,
    // Sensitive values never leave the server: listJobs redacts with the orchestration's stored keys.
    params: job.params,
    error: job.error ? { code: job.error.code, message: job.error.message } : null,
    attempts: job.attempt,
    deadLettered: job.deadLettered,
    discarded: job.discarded,
    finishedAt: job.finishedAt,
  }));
}

/** One job, redacted by the SDK, with its Cloud Logging link. */
async function job(context: ApiContext, orchestrationId: string, jobId: string): Promise<DashboardJob> {
  const info = await context.service.getJob(orchestrationId, jobId);
  const projectId = context.projectId();
  return {
    ...info,
    links: { logs: projectId === null ? null : cloudLoggingUrl({ projectId, orchestrationId, jobId }) },
  };
}

function optional(value: string | null): string | undefined {
  return value === null || value === '' ? undefined : value;
}

/**
 * The dashboard's JSON API under `/api`: the orchestration list (filtered by `authorize`), one
 * orchestration with its console links, its jobs in pages, one job with its logs link, its failed jobs, a retry, its SSE stream, the metrics, and the recent pipelines and
 * one pipeline with its stages. Returns false for paths it does not serve.
 */
export async function handleApi(
  context: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const { service } = context;
  const path = url.pathname;
  if (req.method === 'GET' && path === '/api/orchestrations') {
    const limit = optional(url.searchParams.get('limit'));
    const page = await service.listOrchestrations({
      jobName: optional(url.searchParams.get('jobName')),
      status: optional(url.searchParams.get('status')) as OrchestrationStatus | undefined,
      cursor: optional(url.searchParams.get('cursor')),
      limit: limit === undefined ? undefined : Number(limit),
    });
    const allowed = await Promise.all(page.items.map(async (item) => context.authorize(req, item)));
    sendJson(res, 200, {
      items: page.items.filter((_, i) => allowed[i] === true),
      nextCursor: page.nextCursor,
    });
    return true;
  }
  if (req.method === 'GET' && path === '/api/metrics') {
    sendJson(res, 200, await service.getMetrics());
    return true;
  }
  if (req.method === 'GET' && path === '/api/pipelines') {
    const items = await service.listPipelines(pipelineFilters(url));
    const allowed = await Promise.all(items.map(async (item) => pipelineAllowed(context, req, item)));
    sendJson(res, 200, { items: items.filter((_, i) => allowed[i]) });
    return true;
  }
  const pipeline = /^\/api\/pipelines\/([^/]+)$/.exec(path);
  if (pipeline?.[1]) {
    const id = decodedSegment(pipeline[1], 'pipeline');
    if (req.method === 'GET') {
      sendJson(res, 200, await authorizedPipeline(context, req, id));
      return true;
    }
    res.setHeader('allow', 'GET');
    sendJson(res, 405, {
      error: { code: ErrorCode.InvalidOptions, message: `${req.method ?? ''} is not allowed on ${path}.` },
    });
    return true;
  }
  const jobs = /^\/api\/orchestrations\/([^/]+)\/jobs(?:\/([^/]+))?$/.exec(path);
  if (jobs?.[1]) {
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      sendJson(res, 405, {
        error: { code: ErrorCode.InvalidOptions, message: `${req.method ?? ''} is not allowed on ${path}.` },
      });
      return true;
    }
    const id = decodedSegment(jobs[1]);
    await authorized(context, req, id);
    if (jobs[2] === undefined) {
      const limit = jobPageLimit(url.searchParams.get('limit'));
      const cursor = optional(url.searchParams.get('cursor')) ?? null;
      sendJson(res, 200, await context.jobListings.page(id, cursor, limit, () => service.listJobs(id)));
      return true;
    }
    sendJson(res, 200, await job(context, id, decodedSegment(jobs[2], 'job')));
    return true;
  }
  const match = /^\/api\/orchestrations\/([^/]+)(\/failures|\/retry|\/events)?$/.exec(path);
  if (!match?.[1]) return false;
  const id = decodedSegment(match[1]);
  const action = match[2];
  if (action === '/events' && req.method === 'GET') {
    await context.sse(req, res);
    return true;
  }
  if (action === undefined && req.method === 'GET') {
    const info = await authorized(context, req, id);
    sendJson(res, 200, {
      ...info,
      links: orchestrationLinks(context, info),
    } satisfies DashboardOrchestration);
    return true;
  }
  if (action === '/failures' && req.method === 'GET') {
    await authorized(context, req, id);
    sendJson(res, 200, await failures(context, id));
    return true;
  }
  if (action === '/retry' && req.method === 'POST') {
    // A custom header cannot be sent cross-site without a CORS preflight, which this server never grants.
    if (req.headers['x-e11-dashboard'] !== '1') {
      throw new E11Error(ErrorCode.Forbidden, 'Retry requests must come from the dashboard page.');
    }
    await authorized(context, req, id);
    const result = await service.retryFailed(id);
    sendJson(res, 200, { epoch: result.epoch, jobIds: result.jobIds, launch: result.launch });
    return true;
  }
  res.setHeader('allow', action === '/retry' ? 'POST' : 'GET');
  sendJson(res, 405, {
    error: { code: ErrorCode.InvalidOptions, message: `${req.method ?? ''} is not allowed on ${path}.` },
  });
  return true;
}
