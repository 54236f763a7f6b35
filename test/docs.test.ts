import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ErrorCode } from '@e11/core';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const PAGES = ['docs/own-project.md', 'docs/troubleshooting.md', 'examples/README.md', 'README.md'];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1] ?? '')));
}

/** The relative links of a page (not http(s), not mailto), outside code blocks. */
function linksOf(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] ?? '')
    .filter((target) => !/^[a-z]+:/.test(target));
}

describe('the troubleshooting page', () => {
  const page = read('docs/troubleshooting.md');
  const table = page.slice(page.indexOf('## Error codes'));

  it('has a row for every ErrorCode of @e11/core', () => {
    const missing = Object.values(ErrorCode).filter((code) => !table.includes(`| \`${code}\` |`));
    expect(missing).toEqual([]);
  });

  it("names every code of the local stack's StackError", () => {
    const codes = [...read('emulators/src/errors.ts').matchAll(/'(E11_[A-Z_]+)'/g)].map((match) => match[1]);
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.filter((code) => !page.includes(`\`${code}\``))).toEqual([]);
  });
});

describe('the documentation pages', () => {
  it.each(PAGES)('%s links only to files and headings that exist', (page) => {
    const broken: string[] = [];
    for (const link of linksOf(read(page))) {
      const [path = '', anchor] = link.split('#');
      const target = path === '' ? join(ROOT, page) : join(ROOT, dirname(page), path);
      if (!existsSync(target)) {
        broken.push(link);
        continue;
      }
      if (
        anchor !== undefined &&
        target.endsWith('.md') &&
        !anchorsOf(readFileSync(target, 'utf8')).has(anchor)
      )
        broken.push(`${link} (no heading #${anchor} in ${relative(ROOT, target)})`);
    }
    expect(broken).toEqual([]);
  });

  it('the examples README lists every feature example', () => {
    const readme = read('examples/README.md');
    const features = readdirSync(join(ROOT, 'examples/src/features')).filter(
      (file) => file.endsWith('.ts') && file !== 'read-sse.ts',
    );
    expect(features.length).toBeGreaterThan(0);
    expect(features.filter((file) => !readme.includes(`(src/features/${file})`))).toEqual([]);
  });
});
