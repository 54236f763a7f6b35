import { Cron } from 'croner';
import { E11Error, ErrorCode } from '../errors.js';

/**
 * Cron arithmetic is croner's: parsing, validation, time zones and daylight-saving changes. Nothing
 * here computes local time by hand. Expressions are standard 5-field unix cron (minute hour
 * day-of-month month day-of-week), the format Cloud Scheduler takes, so the same string drives the
 * local scheduler and the Cloud Scheduler job.
 *
 * Daylight-saving behaviour (croner's "fixed-time" rule): an expression whose minute and hour are
 * single values (`30 1 * * *`, `0 2 * * *`) fires once a day — a local time in the spring-forward gap
 * fires at the first valid instant after the gap (02:00 → 03:00), and a local time that happens twice
 * in the fall-back hour fires on its first occurrence only. An interval expression (`*\/30 * * * *`)
 * skips instants in the gap and fires on both occurrences of a repeated hour, since they are
 * different instants.
 */

let zones: ReadonlySet<string> | undefined;

function invalid(path: string, message: string): never {
  throw new E11Error(ErrorCode.InvalidSchedule, `${path}: ${message}`, { context: { path } });
}

/** Throws `E11_INVALID_SCHEDULE` (path `timeZone`) unless `timeZone` is an IANA zone this runtime knows, or `UTC`. */
export function validateTimeZone(timeZone: unknown): string {
  zones ??= new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);
  if (typeof timeZone !== 'string' || !zones.has(timeZone)) {
    invalid(
      'timeZone',
      `unknown time zone ${JSON.stringify(timeZone)}: use an IANA name such as 'Europe/Paris', 'America/New_York' or 'UTC'.`,
    );
  }
  return timeZone;
}

/** A validated cron expression in a time zone, answering "when did it last fire" and "when does it fire next". */
export class CronSchedule {
  private readonly cron: Cron;

  /** Throws `E11_INVALID_SCHEDULE` naming `cron` or `timeZone` when either is invalid. */
  constructor(
    readonly expression: string,
    readonly timeZone: string,
  ) {
    validateTimeZone(timeZone);
    if (typeof expression !== 'string' || expression.trim() === '') {
      invalid(
        'cron',
        `must be a 5-field cron expression such as '0 3 * * *', got ${JSON.stringify(expression)}.`,
      );
    }
    if (expression.trim().startsWith('@')) {
      invalid(
        'cron',
        `nicknames such as '${expression.trim()}' are not unix cron; write the 5 fields (e.g. '0 0 * * *').`,
      );
    }
    try {
      this.cron = new Cron(expression, { timezone: timeZone, mode: '5-part' });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new E11Error(ErrorCode.InvalidSchedule, `cron: invalid expression '${expression}': ${reason}`, {
        cause: error,
        context: { path: 'cron' },
      });
    }
    if (this.cron.nextRun(new Date(0)) === null) {
      invalid('cron', `'${expression}' never fires.`);
    }
  }

  /** The latest fire time at or before `atMs`, or null if there is none. */
  latestAtOrBefore(atMs: number): Date | null {
    // previousRuns is strictly before its reference; +1 ms makes a fire exactly at `atMs` count.
    return this.cron.previousRuns(1, new Date(atMs + 1))[0] ?? null;
  }

  /** The first fire time strictly after `afterMs`, or null if there is none. */
  nextAfter(afterMs: number): Date | null {
    return this.cron.nextRun(new Date(afterMs));
  }

  /** The next `count` fire times strictly after `afterMs`. */
  nextRuns(count: number, afterMs: number): Date[] {
    return this.cron.nextRuns(count, new Date(afterMs));
  }
}
