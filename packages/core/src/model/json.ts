/** A JSON value as stored in Firestore: params, results and checkpoints are made of these. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A parameter set: one job's input, a plain JSON object. */
export type JobParams = { [key: string]: JsonValue };
