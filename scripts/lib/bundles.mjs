// The esbuild bundles, shared by scripts/build.mjs (development) and scripts/package-vsix.mjs
// (production, into the VSIX), so the two cannot drift apart.

/** Loaded at run time from node_modules, never bundled (a native addon). */
export const EXTERNAL = ['onnxruntime-node'];

/** What ships: the extension (client; `vscode` is the editor's own module) and the language server. */
export const PRODUCT_BUNDLES = [
  { entry: 'src/main.ts', outfile: 'dist/extension.js', external: ['vscode'] },
  { entry: 'language-server/src/server.ts', outfile: 'dist/server.js', external: [] },
];

/** The command-line tool (runs from the repository, not from the VSIX). */
export const CLI_BUNDLE = { entry: 'language-server/src/cli/main.ts', outfile: 'dist/cli.js', external: [] };

/** esbuild options common to every bundle. */
export const COMMON_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Prefer ES modules: some packages' UMD "main" (jsonc-parser) hides its requires from the bundler.
  mainFields: ['module', 'main'],
  logLevel: 'warning',
};
