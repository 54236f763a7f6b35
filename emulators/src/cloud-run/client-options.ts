import type { ChannelCredentials } from '@grpc/grpc-js';
import { credentials } from '@grpc/grpc-js';

/**
 * Options for `JobsClient`, `ExecutionsClient` and `TasksClient` that point them at the emulator. A
 * type alias, not an interface, so it is assignable to google-gax's indexed `ClientOptions`.
 */
export type CloudRunEmulatorClientOptions = {
  apiEndpoint: string;
  port: number;
  /** Plain-text gRPC: the emulator has no TLS. */
  sslCreds: ChannelCredentials;
  /**
   * Set explicitly so the client never asks the metadata server for it, which is what logs a
   * `MetadataLookupWarning` (and waits for a timeout) on a machine without Google credentials.
   * With `sslCreds` given, no credentials are looked up at all.
   */
  universeDomain: string;
};

/**
 * Client options for the emulator at `host`/`port` (e.g. an emulator, or `{ host: '127.0.0.1',
 * port: 8091 }`): `new JobsClient(cloudRunClientOptions(emulator))`. Needs no Google credentials and
 * logs no warnings.
 */
export function cloudRunClientOptions(at: { host: string; port: number }): CloudRunEmulatorClientOptions {
  return {
    apiEndpoint: at.host,
    port: at.port,
    sslCreds: credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  };
}
