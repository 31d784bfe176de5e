// Bundles the engine entry points with esbuild; tsc only type-checks (npm run typecheck).
// Entry points that do not exist yet are skipped with a note, so the build works while the
// project grows.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The VS Code integration suites (test/vscode/*.test.ts) run inside the extension host, which
// provides `vscode`; the harness loads them from out/test/vscode/.
const vscodeSuites = existsSync(join(root, 'test/vscode'))
  ? readdirSync(join(root, 'test/vscode'))
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => ({ entry: `test/vscode/${name}`, outfile: `out/test/vscode/${name.replace(/\.ts$/, '.js')}`, external: ['vscode'] }))
  : [];

const bundles = [
  { entry: 'language-server/src/cli/main.ts', outfile: 'dist/cli.js' },
  { entry: 'language-server/src/server.ts', outfile: 'dist/server.js' },
  // The extension (client); `vscode` is the editor's own module.
  { entry: 'src/main.ts', outfile: 'dist/extension.js', external: ['vscode'] },
  ...vscodeSuites,
];

// Native addon: loaded at run time from node_modules, never bundled.
const external = ['onnxruntime-node'];

let built = 0;
for (const { entry, outfile, external: extra = [] } of bundles) {
  const entryPath = join(root, entry);
  if (!existsSync(entryPath)) {
    console.log(`build: skipping ${entry} (not written yet)`);
    continue;
  }
  await build({
    entryPoints: [entryPath],
    outfile: join(root, outfile),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    external: [...external, ...extra],
    logLevel: 'warning',
  });
  console.log(`build: ${entry} -> ${outfile}`);
  built++;
}
console.log(`build: ${built} of ${bundles.length} bundle(s) built`);
