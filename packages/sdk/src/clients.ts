// Every client factory; import the module of one client (./clients/*.js) to load only that client.
export { type ClientOptions, createFirestore, resolveDatabaseId, resolveProjectId } from '@e11/core';
export { createPubSub } from './clients/pubsub.js';
export { createExecutionsClient, createJobsClient } from './clients/cloud-run.js';
