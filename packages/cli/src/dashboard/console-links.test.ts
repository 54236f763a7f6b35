import { ErrorCode, isE11Error } from '@e11/core';
import { describe, expect, it } from 'vitest';

import {
  checkTraceUrlTemplate,
  cloudLoggingUrl,
  DEFAULT_TRACE_URL_TEMPLATE,
  logsQuery,
  traceUrl,
} from './console-links.js';

describe('cloudLoggingUrl', () => {
  it('opens the Logs Explorer on the job’s orchestrationId and jobId labels in its project', () => {
    const url = cloudLoggingUrl({ projectId: 'acme-prod', orchestrationId: 'orc-1', jobId: 'orc-1-000007' });
    expect(url).toBe(
      'https://console.cloud.google.com/logs/query;query=' +
        encodeURIComponent('labels.orchestrationId="orc-1"\nlabels.jobId="orc-1-000007"') +
        '?project=acme-prod',
    );
    const parsed = new URL(url);
    expect(parsed.searchParams.get('project')).toBe('acme-prod');
    expect(decodeURIComponent(parsed.pathname.split(';query=')[1] ?? '')).toBe(
      'labels.orchestrationId="orc-1"\nlabels.jobId="orc-1-000007"',
    );
  });

  it('without a job id, queries the whole orchestration', () => {
    expect(logsQuery({ orchestrationId: 'orc-1' })).toBe('labels.orchestrationId="orc-1"');
  });

  it('escapes quotes and backslashes in ids and encodes the project', () => {
    expect(logsQuery({ orchestrationId: 'a"b\\c', jobId: 'j' })).toBe(
      'labels.orchestrationId="a\\"b\\\\c"\nlabels.jobId="j"',
    );
    const url = new URL(cloudLoggingUrl({ projectId: 'p&x=1', orchestrationId: 'o' }));
    expect(url.searchParams.get('project')).toBe('p&x=1');
    expect(url.searchParams.get('x')).toBeNull();
  });
});

describe('traceUrl', () => {
  it('fills the Cloud Trace console link by default', () => {
    expect(
      traceUrl(DEFAULT_TRACE_URL_TEMPLATE, {
        projectId: 'acme-prod',
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      }),
    ).toBe(
      'https://console.cloud.google.com/traces/list?project=acme-prod&tid=4bf92f3577b34da6a3ce929d0e0e4736',
    );
  });

  it('fills every placeholder of another template, URL-encoded', () => {
    expect(
      traceUrl('http://localhost:16686/trace/{traceId}?p={projectId}&again={traceId}', {
        projectId: 'a b',
        traceId: 'x/y',
      }),
    ).toBe('http://localhost:16686/trace/x%2Fy?p=a%20b&again=x%2Fy');
  });

  it('is null without a trace id', () => {
    expect(traceUrl(DEFAULT_TRACE_URL_TEMPLATE, { projectId: 'p', traceId: null })).toBeNull();
    expect(traceUrl(DEFAULT_TRACE_URL_TEMPLATE, { projectId: 'p', traceId: undefined })).toBeNull();
    expect(traceUrl(DEFAULT_TRACE_URL_TEMPLATE, { projectId: 'p', traceId: '' })).toBeNull();
  });
});

describe('checkTraceUrlTemplate', () => {
  it('accepts an http(s) URL naming {traceId}', () => {
    expect(checkTraceUrlTemplate(DEFAULT_TRACE_URL_TEMPLATE)).toBe(DEFAULT_TRACE_URL_TEMPLATE);
    expect(checkTraceUrlTemplate('http://localhost:16686/trace/{traceId}')).toBe(
      'http://localhost:16686/trace/{traceId}',
    );
  });

  it('refuses other templates with E11_INVALID_OPTIONS', () => {
    for (const template of [
      'https://example.com/traces',
      'javascript:alert({traceId})',
      'not a url {traceId}',
    ]) {
      let caught: unknown;
      try {
        checkTraceUrlTemplate(template);
      } catch (error) {
        caught = error;
      }
      expect(isE11Error(caught, ErrorCode.InvalidOptions)).toBe(true);
    }
  });
});
