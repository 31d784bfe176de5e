// Bundles the engine entry points with esbuild; tsc only type-checks (npm run typecheck).
// Entry points that do not exist yet are skipped with a note, so the build works while the
// project grows.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_BUNDLE, COMMON_OPTIONS, EXTERNAL, PRODUCT_BUNDLES } from './lib/bundles.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The VS Code integration suites (test/vscode/*.test.ts) run inside the extension host, which
// provides `vscode`; the harness loads them from out/test/vscode/.
const vscodeSuites = existsSync(join(root, 'test/vscode'))
  ? readdirSync(join(root, 'test/vscode'))
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => ({ entry: `test/vscode/${name}`, outfile: `out/test/vscode/${name.replace(/\.ts$/, '.js')}`, external: ['vscode'] }))
  : [];

const bundles = [
  CLI_BUNDLE,
  ...PRODUCT_BUNDLES,
  ...vscodeSuites,
];


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
    ...COMMON_OPTIONS,
    sourcemap: true,
    external: [...EXTERNAL, ...extra],
  });
  console.log(`build: ${entry} -> ${outfile}`);
  built++;
}
console.log(`build: ${built} of ${bundles.length} bundle(s) built`);
