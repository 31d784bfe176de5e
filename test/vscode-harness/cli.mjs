// Command line for the in-host VS Code suites (what `npm test`'s vscode phase and `test:electron` run).
//
//   node test/vscode-harness/cli.mjs [--electron] [--extension DIR] [--tests PATH]... [--summary FILE]
//                                    [--grep RE] [--timeout MS] [--screenshots DIR]
//
// Defaults: the extension is the repository (package.json at the root), the tests are
// out/test/vscode/**/*.test.js, failure screenshots go to test-artifacts/vscode/. Without --electron
// the tests run offline in code-server + chromium (installed on first use). Prints
// `vscode: N passed, N failed` and exits with the extension host's exit code.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installCodeServer, runExtensionTests } from './runExtensionTests.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    electron: { type: 'boolean', default: false },
    extension: { type: 'string', default: root },
    tests: { type: 'string', multiple: true },
    summary: { type: 'string' },
    grep: { type: 'string' },
    timeout: { type: 'string', default: '300000' },
    screenshots: { type: 'string', default: path.join(root, 'test-artifacts', 'vscode') },
  },
});

const summaryPath = values.summary ?? path.join(mkdtempSync(path.join(tmpdir(), 'caspo-vscode-')), 'summary.json');
const options = {
  extensionDevelopmentPath: path.resolve(values.extension),
  testFiles: values.tests?.map((t) => path.resolve(t)),
  summaryPath,
  grep: values.grep,
  timeoutMs: Number(values.timeout),
  screenshotDir: path.resolve(values.screenshots),
};

let exitCode;
try {
  if (values.electron) {
    const { runElectronTests } = await import('./electron.mjs');
    exitCode = await runElectronTests(options);
  } else {
    console.log(installCodeServer());
    exitCode = await runExtensionTests(options);
  }
} catch (err) {
  console.error(`vscode tests could not run: ${err.message}`);
  process.exit(2);
}

let summary;
try {
  summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
} catch {
  console.error(`vscode tests: the extension host exited ${exitCode} without writing ${summaryPath}`);
  process.exit(exitCode || 2);
}
for (const title of summary.failedTitles) console.log(`  failed: ${title}`);
console.log(`vscode: ${summary.passes} passed, ${summary.failures} failed${summary.pending ? `, ${summary.pending} skipped` : ''}`);
process.exit(exitCode !== 0 ? exitCode : summary.failures ? 1 : 0);
