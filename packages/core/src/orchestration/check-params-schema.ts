import { E11Error, ErrorCode } from '../errors.js';

import { formatIssuePath, type StandardSchemaV1 } from './standard-schema.js';

/** Issues a failed kick-off names in its message at most. */
export const MAX_LISTED_ISSUES = 3;

/** One params issue of a kick-off: the params set's index, the field path and the schema's message. */
export interface ParamsIssue {
  index: number;
  /** `params[3].month` */
  path: string;
  message: string;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Checks every params set with the job's Standard Schema (sync or async), before anything is written.
 * Throws E11_INVALID_PARAMS naming the first issues (`params[3].month: Expected string`, at most
 * {@link MAX_LISTED_ISSUES}) with `index`, `path` and `issues` in its context; a schema that throws
 * fails the same way. The params themselves are left as given (the container validates them again).
 */
export async function checkParamsSchema(
  schema: StandardSchemaV1 | undefined,
  params: readonly unknown[],
  jobName: string,
): Promise<void> {
  if (!schema) return;
  const outcomes = await Promise.all(
    params.map(async (value, index): Promise<ParamsIssue[]> => {
      try {
        const result = await schema['~standard'].validate(value);
        return (result.issues ?? []).map((issue) => {
          const field = formatIssuePath(issue.path);
          const path = `params[${index}]${field === '' || field.startsWith('[') ? field : `.${field}`}`;
          return { index, path, message: issue.message };
        });
      } catch (error) {
        return [{ index, path: `params[${index}]`, message: `the params schema threw: ${describe(error)}` }];
      }
    }),
  );
  const issues = outcomes.flat();
  const first = issues[0];
  if (!first) return;
  const invalidSets = outcomes.filter((list) => list.length > 0).length;
  const listed = issues.slice(0, MAX_LISTED_ISSUES);
  const more = issues.length - listed.length;
  throw new E11Error(
    ErrorCode.InvalidParams,
    `Invalid params for job '${jobName}' (${invalidSets} of ${params.length} params sets): ` +
      listed.map((issue) => `${issue.path}: ${issue.message}`).join('; ') +
      (more > 0 ? ` (and ${more} more issue${more === 1 ? '' : 's'})` : ''),
    { context: { jobName, index: first.index, path: first.path, issues: listed } },
  );
}
