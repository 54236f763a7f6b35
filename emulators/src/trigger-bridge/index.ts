// The Firestore → Functions Framework trigger bridge (the local stand-in for Eventarc).
export { startTriggerBridge, type TriggerBridge, type TriggerBridgeOptions } from './bridge-server.js';
export {
  type DeliveryOptions,
  type RouteFaults,
  routeFaultsSchema,
  type RouteSpec,
  routeSpecSchema,
  type RouteStats,
} from './interfaces.js';
export {
  fetchRouteStats,
  registerJobTrigger,
  type RegisteredTrigger,
  type RegisterJobTriggerOptions,
  setBridgeRoute,
  type WaitForIdleOptions,
} from './register-trigger.js';
export { type ReceivedEvent, Route } from './route.js';
