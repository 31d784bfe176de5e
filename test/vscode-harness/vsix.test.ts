// The linux-x64 VSIX (npm run package): its size and contents, then a user's path — installed into
// code-server with `--install-extension` (no extensionDevelopmentPath), the problem file opened, F1,
// "CASPO: Solve with CASPO", Enter, and the reasoning document's "Answer: 1798" in the DOM.
//
//   npx mocha --import=tsx test/vscode-harness/vsix.test.ts
//   CASPO_VSIX=out/caspo-vscode-0.1.0-linux-x64.vsix npx mocha ...   reuse a VSIX built in this run
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { MAX_VSIX_BYTES, listVsix, packageVsix, readVsixEntry } from '../../scripts/package-vsix.mjs';
import { startCodeServerWithVsix, workbenchUrl, type CodeServer } from '../../scripts/lib/vsix-in-code-server.mjs';
import { CHROMIUM_PATH, installCodeServer } from './runExtensionTests.mjs';

const root = path.resolve(__dirname, '..', '..');
const artifacts = path.join(root, 'test-artifacts', 'vscode-harness');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-crash-reporter', '--disable-breakpad'];

// What may ship, entry by entry (independent of .vscodeignore, which this checks).
const ALLOWED: RegExp[] = [
  /^extension\.vsixmanifest$/,
  /^\[Content_Types\]\.xml$/,
  /^extension\/(package\.json|readme\.md|changelog\.md|LICENSE\.txt|ThirdPartyNotices\.txt)$/,
  /^extension\/dist\/(extension|server)\.js$/,
  /^extension\/media\/[\w.-]+\.(svg|png|js|css)$/,
  /^extension\/training\/data\/heldout\.jsonl$/,
  /^extension\/models\/caspo-arith\/(config|generation_config|tokenizer|tokenizer_config|caspo)\.json$/,
  /^extension\/models\/caspo-arith\/onnx\/model\.onnx$/,
  /^extension\/node_modules\/onnxruntime-node\/package\.json$/,
  /^extension\/node_modules\/onnxruntime-node\/dist\/[\w-]+\.js$/,
  /^extension\/node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/(libonnxruntime\.so\.1|onnxruntime_binding\.node)$/,
  /^extension\/node_modules\/onnxruntime-common\/package\.json$/,
  /^extension\/node_modules\/onnxruntime-common\/dist\/cjs\/([\w-]+\.js|package\.json)$/,
];
// What must never ship, with the reason (each is also outside ALLOWED).
const FORBIDDEN: [RegExp, string][] = [
  [/\.(ts|mts|cts)$/, 'TypeScript source or declarations'],
  [/\.map$/, 'source map'],
  [/(^|\/)tests?\//, 'tests'],
  [/^extension\/(training\/(?!data\/heldout\.jsonl$)|(language-server|src|bench|scripts|bin)\/)/, 'repository sources and tools'],
  [/\/bin\/napi-v6\/(?!linux\/x64\/)/, "another platform's onnxruntime binaries"],
  [/\.(dll|dylib)$/, "another platform's native library"],
  [/(parity|training|engine_eval)\.json$/, 'model files not read at run time'],
  [/^extension\/node_modules\/(?!onnxruntime-(node|common)\/)/, 'a dependency the bundles do not load'],
];
// What must ship for the extension to run.
const REQUIRED = [
  'extension/package.json',
  'extension/ThirdPartyNotices.txt',
  'extension/dist/extension.js',
  'extension/dist/server.js',
  'extension/media/icon.png',
  'extension/media/calibration.js',
  'extension/media/calibration.css',
  'extension/training/data/heldout.jsonl',
  ...['high', 'medium', 'low'].flatMap((band) => ['light', 'dark'].map((theme) => `extension/media/confidence-${band}-${theme}.svg`)),
  ...['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'caspo.json', 'onnx/model.onnx']
    .map((f) => `extension/models/caspo-arith/${f}`),
  'extension/node_modules/onnxruntime-node/dist/index.js',
  'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
  'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
  'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
  'extension/node_modules/onnxruntime-common/dist/cjs/package.json',
];

/** Every entry that is not allowed, or is forbidden, with the reason. */
function contentProblems(names: string[]): string[] {
  const problems: string[] = [];
  for (const name of names) {
    const forbidden = FORBIDDEN.find(([re]) => re.test(name));
    if (forbidden) problems.push(`${name} (${forbidden[1]})`);
    else if (!ALLOWED.some((re) => re.test(name))) problems.push(`${name} (not in the allowlist)`);
  }
  for (const name of REQUIRED) if (!names.includes(name)) problems.push(`${name} (missing)`);
  return problems;
}

describe('linux-x64 VSIX (npm run package): contents, installed into code-server, Solve with CASPO', function () {
  this.timeout(180_000);
  let scratch: string;
  let vsix: string;

  before(async function () {
    this.timeout(600_000); // first run on a fresh machine installs code-server (about a minute)
    console.log(`      ${installCodeServer()}`);
    scratch = mkdtempSync(path.join(tmpdir(), 'caspo-vsix-test-'));
    const reuse = process.env.CASPO_VSIX;
    if (reuse && existsSync(reuse)) {
      vsix = path.resolve(reuse);
      console.log(`      reusing ${vsix}`);
    } else {
      vsix = (await packageVsix({ out: path.join(scratch, 'caspo.vsix'), log: (line) => console.log(`      ${line}`) })).file;
    }
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('the contents check rejects sources, maps, tests, training files and other platforms', () => {
    const good = [...REQUIRED, 'extension.vsixmanifest', '[Content_Types].xml', 'extension/readme.md'];
    assert.deepEqual(contentProblems(good), []);
    const bad = [
      'extension/src/main.ts',
      'extension/dist/server.js.map',
      'extension/node_modules/onnxruntime-node/lib/index.ts',
      'extension/node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll',
      'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1',
      'extension/node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib',
      'extension/models/caspo-arith/parity.json',
      'extension/training/caspo_train/sft.py',
      'extension/out/test/vscode/solve.test.js',
      'extension/node_modules/adm-zip/adm-zip.js',
      'extension/models/caspo-arith/README.md',
    ];
    const problems = contentProblems([...good, ...bad]);
    assert.equal(problems.length, bad.length, problems.join('\n'));
    for (const name of bad) assert.ok(problems.some((p) => p.startsWith(`${name} (`)), `${name} should be rejected`);
    assert.deepEqual(contentProblems(good.filter((n) => !n.endsWith('libonnxruntime.so.1'))),
      ['extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 (missing)']);
  });

  it('is under 60 MB, targets linux-x64 and holds only the allowed files', () => {
    const entries = listVsix(vsix);
    const bytes = statSync(vsix).size;
    console.log(`      ${entries.length} files, ${(bytes / 2 ** 20).toFixed(1)} MB, ` +
      `${(entries.reduce((sum, e) => sum + e.size, 0) / 2 ** 20).toFixed(1)} MB unpacked`);
    assert.ok(bytes < MAX_VSIX_BYTES, `the VSIX is ${bytes} bytes, over ${MAX_VSIX_BYTES}`);
    assert.deepEqual(contentProblems(entries.map((e) => e.name)), []);

    const vsixManifest = readVsixEntry(vsix, 'extension.vsixmanifest').toString('utf8');
    assert.match(vsixManifest, /<Identity [^>]*TargetPlatform="linux-x64"/);
    const pkg = JSON.parse(readVsixEntry(vsix, 'extension/package.json').toString('utf8'));
    assert.equal(pkg.main, './dist/extension.js');
    assert.deepEqual(Object.keys(pkg.dependencies), ['onnxruntime-node'], 'only the external the bundles load');
    assert.equal(pkg.devDependencies, undefined);
    assert.equal(pkg.scripts, undefined);
    const server = readVsixEntry(vsix, 'extension/dist/server.js').toString('utf8');
    assert.ok(!/sourceMappingURL/.test(server), 'production bundle without source maps');
    assert.match(server, /require\("onnxruntime-node"\)/, 'onnxruntime-node stays external');

    // The bundles drop their packages' license comments: the notices carry them, and onnxruntime's.
    const notices = readVsixEntry(vsix, 'extension/ThirdPartyNotices.txt').toString('utf8');
    for (const name of ['vscode-languageclient', 'vscode-languageserver', 'vscode-jsonrpc', '@huggingface/tokenizers', 'onnxruntime-node', 'onnxruntime-common']) {
      assert.match(notices, new RegExp(`^${name.replace('/', '\\/')} \\d+\\.\\d+\\.\\d+`, 'm'), `ThirdPartyNotices.txt lists ${name}`);
    }
    assert.match(notices, /Copyright \(c\) Microsoft Corporation/);
    // The Details page cannot load an image by a relative path: the packaged README has none.
    const readme = readVsixEntry(vsix, 'extension/readme.md').toString('utf8');
    assert.doesNotMatch(readme, /!\[[^\]]*\]\((?![a-z]+:)/i, 'an image with a relative path in the packaged README');
    assert.match(readme, /Screenshot in the source repository, docs\/images\/solve-gutter-hover\.png/);
  });

  it('installs into code-server with --install-extension and solves 47*38 + 12 from the command palette', async () => {
    const workspace = path.join(scratch, 'workspace');
    mkdirSync(workspace, { recursive: true });
    const problems = path.join(workspace, 'problems.txt');
    writeFileSync(problems, '47*38 + 12');
    const started = Date.now();
    let server: CodeServer | undefined;
    let browser: BrowserContext | undefined;
    let page: Page | undefined;
    try {
      const session = await startCodeServerWithVsix({ vsix });
      server = session.server;
      console.log(`      installed ${session.installed} in ${session.installMs} ms`);
      browser = await chromium.launchPersistentContext(path.join(scratch, 'chromium'), {
        executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 800 },
      });
      page = browser.pages()[0] ?? (await browser.newPage());
      await page.goto(workbenchUrl(server, workspace, problems));
      const problemLine = page.locator('.monaco-editor .view-line', { hasText: '47*38 + 12' }).first();
      await problemLine.waitFor({ state: 'visible', timeout: 60_000 });

      // F1, the title, Enter; the palette lists the command once the installed extension is scanned.
      const title = 'CASPO: Solve with CASPO';
      const input = page.locator('.quick-input-widget .quick-input-box input');
      const deadline = Date.now() + 60_000;
      for (;;) {
        await problemLine.click(); // the cursor on the problem's line: the command solves that line
        await page.keyboard.press('F1');
        await input.waitFor({ state: 'visible' });
        await page.keyboard.type(title);
        const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
        try {
          await row.waitFor({ state: 'visible', timeout: 10_000 });
          await page.keyboard.press('Enter');
          await input.waitFor({ state: 'hidden' });
          break;
        } catch (err) {
          await page.keyboard.press('Escape');
          if (Date.now() > deadline) throw new Error(`the palette never offered "${title}": is the extension installed? (${(err as Error).message.split('\n')[0]})`);
        }
      }

      const reasoning = page.locator('.monaco-editor .view-lines', { hasText: 'Answer: 1798' }).first();
      await reasoning.waitFor({ state: 'visible', timeout: 60_000 });
      const text = (await reasoning.innerText()).replace(/\u00a0/g, ' ');
      assert.match(text, /Problem: 47\*38 \+ 12/);
      assert.match(text, /47 \* 38 = 1786/);
      assert.match(text, /1786 \+ 12 = 1798/);
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: path.join(artifacts, 'vsix-solve.png') });
      console.log(`      code-server start + install + solve: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      if (page) {
        mkdirSync(artifacts, { recursive: true });
        const file = path.join(artifacts, `vsix-failure-${Date.now()}.png`);
        await page.screenshot({ path: file }).then(() => ((err as Error).message += `\n(screenshot: ${file})`), () => {});
      }
      if (server) (err as Error).message += `\ncode-server output (tail):\n${server.output().split('\n').slice(-10).join('\n')}`;
      throw err;
    } finally {
      await browser?.close().catch(() => {});
      await server?.stop();
    }
  });
});
