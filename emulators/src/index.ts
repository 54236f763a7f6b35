export { isStackError, StackError } from './errors.js';
export {
  startGoogleEmulators,
  type GoogleEmulators,
  type GoogleEmulatorsOptions,
} from './google-emulators.js';
export { assertPortsFree, isPortFree, resolvePorts, type StackPorts } from './ports.js';
export * from './cloud-run/index.js';
export {
  freePort,
  type FunctionsServer,
  type FunctionsServerOptions,
  startFunctionsServer,
} from './functions-server.js';
export * from './trigger-bridge/index.js';
export { type Stack, type StackOptions, startStack } from './stack.js';
export {
  DEFAULT_FIREBASE_CONFIG,
  resolveStackPaths,
  type StackPaths,
  type StackPathsOptions,
} from './paths.js';
