// One implementation of redaction for the task and the SDK (@e11/core): the runner's logs,
// stored errors and progress messages are redacted exactly as the SDK's outputs are.
export { createRedactor, REDACTED } from '@e11/core';
