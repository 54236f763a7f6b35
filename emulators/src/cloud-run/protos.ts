import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import type { ServiceDefinition } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { loadSync } from '@grpc/proto-loader';

/** The services the emulator serves, as gRPC service definitions. */
export interface CloudRunServices {
  jobs: ServiceDefinition;
  executions: ServiceDefinition;
  tasks: ServiceDefinition;
  operations: ServiceDefinition;
  /** Encodes a `google.cloud.run.v2.Execution`, to pack it into a `google.protobuf.Any`. */
  encodeExecution: (execution: object) => Buffer;
}

let cached: CloudRunServices | undefined;

function service(definition: PackageDefinition, name: string): ServiceDefinition {
  const found = definition[name];
  // Message and enum definitions carry a `format`; a service is a map of method definitions.
  if (!found || 'format' in found) {
    throw new Error(`Service ${name} is missing from the Cloud Run protos`);
  }
  return found;
}

/**
 * Loads the protos that `@google-cloud/run` itself ships (and `google/longrunning` from google-gax),
 * so the emulator speaks exactly the wire format of the client version installed. Field names are
 * camelCase (`keepCase: false`), int64 values strings, enums their names.
 */
export function loadCloudRunServices(): CloudRunServices {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const runProtos = join(dirname(require.resolve('@google-cloud/run')), '..', 'protos');
  const gaxProtos = join(dirname(require.resolve('google-gax')), '..', 'protos');
  const definition = loadSync(
    [
      'google/cloud/run/v2/job.proto',
      'google/cloud/run/v2/execution.proto',
      'google/cloud/run/v2/task.proto',
      'google/longrunning/operations.proto',
    ],
    {
      includeDirs: [runProtos, gaxProtos],
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    },
  );
  const executions = service(definition, 'google.cloud.run.v2.Executions');
  const getExecution = executions['GetExecution'];
  if (!getExecution) throw new Error('GetExecution is missing from the Cloud Run protos');
  cached = {
    jobs: service(definition, 'google.cloud.run.v2.Jobs'),
    executions,
    tasks: service(definition, 'google.cloud.run.v2.Tasks'),
    operations: service(definition, 'google.longrunning.Operations'),
    encodeExecution: (execution) => getExecution.responseSerialize(execution),
  };
  return cached;
}
