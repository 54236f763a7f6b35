import { E11Error, ErrorCode, formatIssuePath, type StandardSchemaV1 } from '@e11/core';

/** The message of a thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Validates params with the class's Standard Schema: the parsed value, or an E11_VALIDATION_FAILED error naming the field. */
export async function validateParams(
  schema: StandardSchemaV1 | undefined,
  params: unknown,
): Promise<{ value: unknown } | { error: E11Error }> {
  if (!schema) return { value: params };
  let result: StandardSchemaV1.Result<unknown>;
  try {
    result = await schema['~standard'].validate(params);
  } catch (error) {
    return {
      error: new E11Error(ErrorCode.ValidationFailed, `The params schema threw: ${messageOf(error)}`, {
        cause: error,
      }),
    };
  }
  if (!result.issues) return { value: result.value };
  const issue = result.issues[0];
  const path = formatIssuePath(issue?.path);
  return {
    error: new E11Error(
      ErrorCode.ValidationFailed,
      `Invalid params${path ? ` at '${path}'` : ''}: ${issue?.message ?? 'does not match the schema'}` +
        (result.issues.length > 1 ? ` (and ${result.issues.length - 1} more issue(s))` : ''),
      { context: { path } },
    ),
  };
}
