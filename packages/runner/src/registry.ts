import { E11Error, ErrorCode } from '@e11/core';

import { getJobDefinition, type JobClass, type JobDefinition } from './job-name.js';

/**
 * The job classes of one `runE11Job` call by name. A class without `@JobName`, or two classes with the
 * same name, is an error at start-up — never a silent pick.
 */
export function buildRegistry(classes: readonly JobClass[]): Map<string, JobDefinition> {
  const registry = new Map<string, JobDefinition>();
  for (const target of classes) {
    const definition = getJobDefinition(target);
    if (!definition) {
      throw new E11Error(
        ErrorCode.UnknownJobName,
        `Class ${target.name || '(anonymous)'} has no @JobName decorator: decorate it with @JobName('name').`,
      );
    }
    const existing = registry.get(definition.name);
    if (existing) {
      throw new E11Error(
        ErrorCode.DuplicateJobName,
        `Classes ${existing.target.name} and ${target.name} both use @JobName('${definition.name}'): job names must be unique.`,
        { context: { jobName: definition.name } },
      );
    }
    registry.set(definition.name, definition);
  }
  return registry;
}
