// Bundles the engine entry points with esbuild; tsc only type-checks (npm run typecheck).
// Entry points that do not exist yet are skipped with a note, so the build works while the
// project grows.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const bundles = [
  { entry: 'language-server/src/cli/main.ts', outfile: 'dist/cli.js' },
];

// Native addon: loaded at run time from node_modules, never bundled.
const external = ['onnxruntime-node'];

let built = 0;
for (const { entry, outfile } of bundles) {
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
    external,
    logLevel: 'warning',
  });
  console.log(`build: ${entry} -> ${outfile}`);
  built++;
}
console.log(`build: ${built} of ${bundles.length} bundle(s) built`);
