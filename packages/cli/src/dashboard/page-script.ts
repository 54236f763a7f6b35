import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the compiled browser code (./browser/*.ts, its own tsconfig with the DOM lib) lies: next to
 * this module in dist, in the published package as in the repository.
 */
const BROWSER_DIR = new URL('./browser/', import.meta.url);

/** The chart.js build the page loads as a classic script (it defines the global `Chart`). */
const CHART_JS_FILE = 'chart.umd.min.js';

/**
 * Reads the dashboard's browser modules by file name (`dashboard.js` and the modules it imports),
 * served under `/assets/`. Rejects when they are missing, which only happens when the CLI package was
 * not built with `tsc -b` (that builds them too).
 */
export async function loadBrowserScripts(): Promise<Record<string, string>> {
  try {
    const names = (await readdir(BROWSER_DIR)).filter((name) => name.endsWith('.js'));
    if (!names.includes('dashboard.js')) throw new Error('dashboard.js is missing');
    const bodies = await Promise.all(names.map(async (name) => readFile(new URL(name, BROWSER_DIR), 'utf8')));
    return Object.fromEntries(names.map((name, i) => [name, bodies[i] ?? '']));
  } catch (error) {
    throw new Error(
      `The dashboard's browser code is missing at ${fileURLToPath(BROWSER_DIR)}; build the CLI package with \`npm run build\`.`,
      { cause: error },
    );
  }
}

/**
 * Reads chart.js's UMD build from the installed `chart.js` package (a dependency of the CLI), served as
 * `/assets/chart.js`: the page loads nothing from the internet.
 */
export async function loadChartJs(): Promise<string> {
  // The package's exports map names no UMD file; it lies beside the CommonJS entry in dist/.
  const entry = createRequire(import.meta.url).resolve('chart.js');
  return readFile(join(dirname(entry), CHART_JS_FILE), 'utf8');
}
