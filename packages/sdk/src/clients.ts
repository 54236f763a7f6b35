// Every client factory; import the module of one client (./clients/*.js) to load only that client.
export {
  type ClientOptions,
  createFirestore,
  resolveDatabaseId,
  resolveProjectId,
} from './clients/firestore.js';
export { createPubSub } from './clients/pubsub.js';
export { createExecutionsClient, createJobsClient } from './clients/cloud-run.js';
