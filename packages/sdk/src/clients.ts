// Every client factory; import the module of one client (./clients/*.js) to load only that client.
export { type ClientOptions, createFirestore, resolveDatabaseId, resolveProjectId } from '@e11/core';
export { createPubSub } from '@e11/core/engine';
export { createExecutionsClient, createJobsClient } from '@e11/core/engine';
