// @e11/sdk/testing — helpers for your own tests of code that uses the sdk.
export { activeListenerCount } from './monitoring/listener-registry.js';
export { formatEventId } from './monitoring/sse-event-id.js';
