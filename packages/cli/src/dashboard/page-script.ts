import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Where the compiled browser code (./browser/dashboard.ts, its own tsconfig with the DOM lib) lies:
 * next to this module in dist, in the published package as in the repository.
 */
const SCRIPT_URL = new URL('./browser/dashboard.js', import.meta.url);

/**
 * Reads the dashboard's browser code, served as `/assets/dashboard.js`. Rejects when the file is
 * missing, which only happens when the CLI package was not built with `tsc -b` (that builds it too).
 */
export async function loadDashboardScript(): Promise<string> {
  try {
    return await readFile(SCRIPT_URL, 'utf8');
  } catch (error) {
    throw new Error(
      `The dashboard's browser code is missing at ${fileURLToPath(SCRIPT_URL)}; build the CLI package with \`npm run build\`.`,
      { cause: error },
    );
  }
}
