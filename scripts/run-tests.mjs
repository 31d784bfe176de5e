// The one command that proves the project works (`npm test`): build, type-check, make the test
// fixtures, run every mocha suite and the Python training tests, then print `N passed, N failed`.
//
//   npm test                      everything
//   npm test -- --grep parity     only mocha tests whose title matches (Python and checks still run)
//   npm test -- --only mocha      one phase: build | typecheck | fixtures | mocha | vscode | python
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTorchPython, resetTorchPythonCache } from './lib/python.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = option('--only');
const grep = option('--grep');

const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

function record(name, ok, detail = '') {
  if (ok) totals.passed += 1;
  else {
    totals.failed += 1;
    failures.push(`${name}${detail ? `: ${detail}` : ''}`);
  }
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${!ok && detail ? ` — ${detail}` : ''}`);
}

/** Adds a runner's JSON summary {passes, failures, pending, failedTitles} to the totals. */
function addSummary(label, file, ok, detail) {
  let summary;
  try {
    summary = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    record(`${label} (did not report)`, false, detail || 'no summary written');
    return;
  }
  totals.passed += summary.passes;
  totals.failed += summary.failures;
  totals.skipped += summary.pending;
  failures.push(...summary.failedTitles.map((t) => `${label}: ${t}`));
  if (!ok && summary.failures === 0) record(`${label} exit`, false, detail);
}

function run(cmd, cmdArgs, opts = {}) {
  const result = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', ...opts });
  if (result.error) return { ok: false, detail: result.error.message };
  return { ok: result.status === 0, detail: result.status === 0 ? '' : `exit ${result.status}` };
}

function phase(name, fn) {
  if (only && only !== name) return;
  console.log(`\n== ${name}`);
  fn();
}

function testFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...testFiles(full));
    else if (entry.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

phase('build', () => {
  const { ok, detail } = run(process.execPath, ['scripts/build.mjs']);
  record('build (esbuild)', ok, detail);
});

phase('typecheck', () => {
  const { ok, detail } = run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', '.']);
  record('typecheck (tsc --noEmit)', ok, detail);
});

// The training tests and fixtures need Debian's PyTorch, the editor tests Debian's chromium and
// ripgrep, the caspo:table test rsvg-convert: install them once when we may (root).
function systemDepsMissing() {
  const missing = [];
  if (!findTorchPython()) missing.push('Python with torch + onnx');
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium');
  if (spawnSync('rg', ['--version'], { stdio: 'ignore' }).status !== 0) missing.push('ripgrep');
  if (spawnSync('rsvg-convert', ['--version'], { stdio: 'ignore' }).status !== 0) missing.push('rsvg-convert');
  return missing;
}

let systemDepsChecked = false;
function ensureSystemDeps() {
  if (systemDepsChecked) return;
  systemDepsChecked = true;
  const missing = systemDepsMissing();
  if (missing.length && process.getuid?.() === 0) {
    console.log(`Missing ${missing.join(', ')}: installing Debian packages (.ci/install-system-deps)`);
    run('bash', ['.ci/install-system-deps']);
    resetTorchPythonCache();
  }
}

phase('fixtures', () => {
  ensureSystemDeps();
  const { ok, detail } = run(process.execPath, ['scripts/make-fixtures.mjs']);
  record('test fixtures (few SFT steps + export, Qwen3 GQA export)', ok, detail);
});

phase('mocha', () => {
  // Mocha runs in a child process with the tsx loader; its JSON summary gives the counts.
  const files = ['test/unit', 'test/integration', 'test/cli', 'test/vscode-harness', 'test/vscode-ui'].flatMap((d) => {
    try {
      return testFiles(path.join(root, d));
    } catch {
      return [];
    }
  });
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'caspo-mocha-')), 'summary.json');
  const mochaArgs = [
    '--import=tsx',
    path.join(root, 'node_modules/mocha/bin/mocha.js'),
    '--reporter', path.join(root, 'scripts/lib/summary-reporter.cjs'),
    '--reporter-option', `summary=${out}`,
    '--timeout', '120000',
    ...(grep ? ['--grep', grep] : []),
    ...files,
  ];
  const { ok, detail } = run(process.execPath, mochaArgs);
  addSummary('mocha', out, ok, detail);
});

phase('vscode', () => {
  ensureSystemDeps();
  // The in-host suites (out/test/vscode, built by the build phase) in a real VS Code: code-server +
  // Debian chromium, offline; code-server is installed on first use.
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'caspo-vscode-')), 'summary.json');
  const { ok, detail } = run(process.execPath, ['test/vscode-harness/cli.mjs', '--summary', out, ...(grep ? ['--grep', grep] : [])]);
  addSummary('vscode', out, ok, detail);
});

phase('python', () => {
  ensureSystemDeps();
  const python = findTorchPython();
  if (!python) {
    record('python training tests', false, 'no Python with torch + onnx (run .ci/install-system-deps)');
    return;
  }
  const result = spawnSync(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests'], {
    cwd: path.join(root, 'training'),
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
  });
  process.stdout.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  const count = (word) => Number((result.stdout ?? '').match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
  const passed = count('passed');
  const failed = count('failed') + count('error');
  totals.passed += passed;
  totals.failed += failed;
  totals.skipped += count('skipped');
  if (passed + failed === 0 || (result.status !== 0 && failed === 0)) {
    record('python training tests', false, `pytest exited ${result.status} without results`);
  } else if (failed) failures.push(`python: ${failed} failed (see above)`);
});

if (failures.length) {
  console.log('\nFailures:');
  for (const f of failures) console.log(`  - ${f}`);
}
if (totals.skipped) console.log(`\n${totals.skipped} skipped (not counted below)`);
// The last line is always exactly `N passed, N failed` (CI reads it).
console.log(`\n${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed ? 1 : 0);
