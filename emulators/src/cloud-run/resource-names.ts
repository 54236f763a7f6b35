/** Parsing and building Cloud Run resource names. Any project and location is accepted. */

/** `projects/{project}/locations/{location}`. */
export interface LocationName {
  project: string;
  location: string;
}

/** `projects/{project}/locations/{location}/jobs/{jobId}`. */
export interface JobName extends LocationName {
  jobId: string;
}

/** `.../jobs/{jobId}/executions/{executionId}`. */
export interface ExecutionName extends JobName {
  executionId: string;
}

/** `.../executions/{executionId}/tasks/{executionId}-task{index}`. */
export interface TaskName extends ExecutionName {
  taskIndex: number;
}

const SEGMENT = '([^/]+)';
const LOCATION = `projects/${SEGMENT}/locations/${SEGMENT}`;
const LOCATION_RE = new RegExp(`^${LOCATION}$`);
const JOB_RE = new RegExp(`^${LOCATION}/jobs/${SEGMENT}$`);
const EXECUTION_RE = new RegExp(`^${LOCATION}/jobs/${SEGMENT}/executions/${SEGMENT}$`);
const TASK_RE = new RegExp(`^${LOCATION}/jobs/${SEGMENT}/executions/${SEGMENT}/tasks/${SEGMENT}$`);
const OPERATION_RE = new RegExp(`^${LOCATION}/operations/${SEGMENT}$`);

export function parseLocationName(name: string): LocationName | undefined {
  const m = LOCATION_RE.exec(name);
  return m?.[1] && m[2] ? { project: m[1], location: m[2] } : undefined;
}

export function parseJobName(name: string): JobName | undefined {
  const m = JOB_RE.exec(name);
  return m?.[1] && m[2] && m[3] ? { project: m[1], location: m[2], jobId: m[3] } : undefined;
}

export function parseExecutionName(name: string): ExecutionName | undefined {
  const m = EXECUTION_RE.exec(name);
  return m?.[1] && m[2] && m[3] && m[4]
    ? { project: m[1], location: m[2], jobId: m[3], executionId: m[4] }
    : undefined;
}

export function parseTaskName(name: string): TaskName | undefined {
  const m = TASK_RE.exec(name);
  if (!m?.[1] || !m[2] || !m[3] || !m[4] || !m[5]) return undefined;
  const prefix = `${m[4]}-task`;
  const indexText = m[5].startsWith(prefix) ? m[5].slice(prefix.length) : '';
  if (!/^\d+$/.test(indexText)) return undefined;
  return { project: m[1], location: m[2], jobId: m[3], executionId: m[4], taskIndex: Number(indexText) };
}

/** True for `projects/{p}/locations/{l}/operations/{id}`. */
export function isOperationName(name: string): boolean {
  return OPERATION_RE.test(name);
}

export function locationName(n: LocationName): string {
  return `projects/${n.project}/locations/${n.location}`;
}

export function jobName(n: JobName): string {
  return `${locationName(n)}/jobs/${n.jobId}`;
}

export function executionName(n: ExecutionName): string {
  return `${jobName(n)}/executions/${n.executionId}`;
}

/** The short task id, as Cloud Run words it: `{executionId}-task{index}`. */
export function taskId(executionId: string, taskIndex: number): string {
  return `${executionId}-task${taskIndex}`;
}

export function taskName(n: TaskName): string {
  return `${executionName(n)}/tasks/${taskId(n.executionId, n.taskIndex)}`;
}

/** The message the real API gives when a named resource does not exist. */
export function notFoundMessage(kind: 'JOB' | 'EXECUTION' | 'TASK', id: string, n: LocationName): string {
  return `Resource '${id}' of kind '${kind}' in region '${n.location}' in project '${n.project}' does not exist.`;
}
