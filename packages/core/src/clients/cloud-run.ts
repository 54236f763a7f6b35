import { v2 } from '@google-cloud/run';
import { credentials } from '@grpc/grpc-js';
import { type ClientOptions, resolveProjectId, splitHost } from './firestore.js';

function runClientConfig(options: ClientOptions) {
  const endpoint = options.emulatorHost ?? process.env.E11_CLOUD_RUN_EMULATOR_HOST;
  const projectId = resolveProjectId(options.projectId);
  if (!endpoint) return projectId ? { projectId } : {};
  const { host, port } = splitHost(endpoint);
  return {
    projectId: projectId ?? 'demo-e11',
    apiEndpoint: host,
    port,
    sslCreds: credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  };
}

/** A Cloud Run Admin API v2 JobsClient; with an emulator endpoint (E11_CLOUD_RUN_EMULATOR_HOST) it speaks plain gRPC to it. */
export function createJobsClient(options: ClientOptions = {}): v2.JobsClient {
  return new v2.JobsClient(runClientConfig(options));
}

/** A Cloud Run Admin API v2 ExecutionsClient (cancel, status), emulator-aware like {@link createJobsClient}. */
export function createExecutionsClient(options: ClientOptions = {}): v2.ExecutionsClient {
  return new v2.ExecutionsClient(runClientConfig(options));
}
