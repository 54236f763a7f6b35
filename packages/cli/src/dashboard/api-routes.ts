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
  OrchestrationInfo,
  OrchestrationService,
  PipelineInfo,
  SseHandler,
} from '@e11/sdk';

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
 * 500): an orchestration by default, or a pipeline.
 */
function decodedSegment(segment: string, what: 'orchestration' | 'pipeline' = 'orchestration'): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    const code = what === 'pipeline' ? ErrorCode.UnknownPipeline : ErrorCode.UnknownOrchestration;
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

function optional(value: string | null): string | undefined {
  return value === null || value === '' ? undefined : value;
}

/**
 * The dashboard's JSON API under `/api`: the orchestration list (filtered by `authorize`), one
 * orchestration, its failed jobs, a retry, its SSE stream, the metrics, and the recent pipelines and
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
  const match = /^\/api\/orchestrations\/([^/]+)(\/failures|\/retry|\/events)?$/.exec(path);
  if (!match?.[1]) return false;
  const id = decodedSegment(match[1]);
  const action = match[2];
  if (action === '/events' && req.method === 'GET') {
    await context.sse(req, res);
    return true;
  }
  if (action === undefined && req.method === 'GET') {
    sendJson(res, 200, await authorized(context, req, id));
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
