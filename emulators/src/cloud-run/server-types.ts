import type { ServerUnaryCall } from '@grpc/grpc-js';

/**
 * A unary RPC handler: takes the decoded request (each handler declares the shape proto-loader
 * decodes, hence the `never` here) and returns the response object or throws an `RpcError`.
 */
export type UnaryHandler = (request: never, call: ServerUnaryCall<unknown, unknown>) => unknown;

/** Handlers of one service by RPC method name, e.g. `RunJob`. */
export type UnaryHandlers = Record<string, UnaryHandler>;
