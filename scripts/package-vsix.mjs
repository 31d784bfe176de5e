// npm run package: the platform VSIX for linux-x64, offline.
//
//   node scripts/package-vsix.mjs [--out FILE.vsix] [--keep-stage]
//
// 1. Production bundles of the client (src/main.ts) and the language server
//    (language-server/src/server.ts): esbuild, minified, no source maps, the same externals as
//    scripts/build.mjs. The development bundles in dist/ are left alone.
// 2. A staging folder (out/vsix-stage-XXXXXX/, removed afterwards) laid out like the repository:
//    the bundles, media/, the model folder, LICENSE/README/CHANGELOG, the .vscodeignore allowlist,
//    ThirdPartyNotices.txt (what the bundles hold and what ships beside them, with their license texts),
//    a package.json whose `dependencies` are only the bundles' run-time externals, and those
//    externals' whole dependency tree hard-linked from node_modules (all platforms: the allowlist
//    picks linux-x64).
// 3. @vscode/vsce in the staging folder: `package --target linux-x64`. vsce's `--no-dependencies`
//    would drop every node_modules file whatever the allowlist says, so vsce's own dependency
//    listing runs (`npm list --production`, local, no network) on the staged tree, and the
//    .vscodeignore allowlist decides what ships.
// Prints the VSIX's path, size and file count. Refuses to write a VSIX of 60 MB or more.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { inflateRawSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMON_OPTIONS, EXTERNAL, PRODUCT_BUNDLES } from './lib/bundles.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TARGET = 'linux-x64';
export const MAX_VSIX_BYTES = 60 * 1024 * 1024;

const manifest = () => JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
export const defaultVsixPath = () => {
  const { name, version } = manifest();
  return path.join(root, 'out', `${name}-${version}-${TARGET}.vsix`);
};

// Files copied to the stage as they are (the allowlist still filters them).
// training/data/heldout.jsonl: the held-out problems "CASPO: Show Calibration" decodes (the one copy of them).
export const COPIED = ['README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore', 'media', 'models/caspo-arith', 'training/data/heldout.jsonl'];

// Packages an external brings into the VSIX besides itself (the .vscodeignore allowlist ships them).
const SHIPPED_WITH = { 'onnxruntime-node': ['node_modules/onnxruntime-common'] };

const isBuiltin = (name) => name.startsWith('node:') || builtinModules.includes(name.split('/')[0]);
const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

async function buildProduction(stage) {
  const { build } = await import('esbuild');
  const externals = new Set();
  const bundled = new Set(); // package folders (relative to the repository) whose code the bundles hold
  for (const { entry, outfile, external } of PRODUCT_BUNDLES) {
    const result = await build({
      entryPoints: [path.join(root, entry)],
      outfile: path.join(stage, outfile),
      ...COMMON_OPTIONS,
      minify: true,
      keepNames: true, // readable class names in the log and in crash reports
      sourcemap: false,
      legalComments: 'none',
      external: [...EXTERNAL, ...external],
      metafile: true,
      absWorkingDir: root, // the metafile's paths are relative to it
    });
    for (const input of Object.keys(result.metafile.inputs)) {
      const at = input.lastIndexOf('node_modules/');
      if (at >= 0) bundled.add(input.slice(0, at) + 'node_modules/' + packageName(input.slice(at + 'node_modules/'.length)));
    }
    for (const output of Object.values(result.metafile.outputs)) {
      for (const imp of output.imports) {
        if (!imp.external || isBuiltin(imp.path) || imp.path === 'vscode') continue;
        externals.add(packageName(imp.path));
      }
    }
  }
  for (const name of externals) {
    if (!EXTERNAL.includes(name)) throw new Error(`package-vsix: the bundles load ${name} at run time, which is not shipped`);
  }
  return { externals: [...externals].sort(), bundled: [...bundled].sort() };
}

// The notices of what the VSIX redistributes: the packages bundled into dist/*.js (their license comments are
// stripped there) and the shipped externals, each with its license file as the package ships it.
const LICENSE_FILE = /^(licen[cs]e|copying|notice|thirdpartynotices)(\.(md|txt))?$/i;
// onnxruntime-node and onnxruntime-common ship no license file; ONNX Runtime's is MIT, Microsoft's.
const ONNXRUNTIME_LICENSE = `MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.

The native library (libonnxruntime.so.1) also contains third-party components, listed with their licenses in
ThirdPartyNotices.txt of https://github.com/microsoft/onnxruntime (not part of the npm package).
`;

/** ThirdPartyNotices.txt for the packages in `dirs` (absolute or relative to the repository). */
export function thirdPartyNotices(dirs) {
  const sections = [...new Set(dirs.map((dir) => path.resolve(root, dir)))].map((dir) => {
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const files = readdirSync(dir).filter((name) => LICENSE_FILE.test(name)).sort();
    const texts = files.map((name) => readFileSync(path.join(dir, name), 'utf8').trim());
    if (texts.length === 0 && /^onnxruntime-(node|common)$/.test(pkg.name)) texts.push(ONNXRUNTIME_LICENSE.trim());
    if (texts.length === 0) throw new Error(`package-vsix: ${pkg.name} ships no license file: write its notice by hand`);
    return { name: pkg.name, text: `${pkg.name} ${pkg.version} (${pkg.license ?? 'license in the text below'})\n\n${texts.join('\n\n')}` };
  });
  sections.sort((a, b) => a.name.localeCompare(b.name));
  const rule = '-'.repeat(100);
  return [
    'Third-party software in CASPO for VS Code',
    '',
    'The extension bundles or ships the packages below. Each is listed with its version, its license and the',
    'license text its package carries.',
    '',
    ...sections.flatMap((section) => [rule, section.text, '']),
  ].join('\n');
}

// The staged README: the Details page of an installed extension cannot load an image by a relative path (its
// webview has no base URL, and vsce rewrites such links only for a repository to publish under), so each image
// with a relative path becomes its caption.
export function stagedReadme(text) {
  const staged = text.replace(
    /!\[([^\]]*)\]\((?![a-z]+:)([^)\s]+)(?:\s+"[^"]*")?\)/gi,
    (_image, alt, file) => `*(Screenshot in the source repository, ${file}: ${alt.replace(/\.$/, '')}.)*`,
  );
  const html = /<img\b[^>]*\bsrc\s*=\s*["'](?![a-z]+:)[^"']+["']/i.exec(staged);
  if (html) throw new Error(`package-vsix: README.md shows an image by a relative path (${html[0]}), which the Details page cannot load: use Markdown image syntax or an https URL`);
  return staged;
}

// Hard-link a tree (copy across file systems); `skip(relPath)` prunes.
function linkTree(from, to, skip = () => false, rel = '') {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    if (skip(relPath)) continue;
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) linkTree(src, dst, skip, relPath);
    else if (entry.isFile() || (entry.isSymbolicLink() && statSync(src).isFile())) {
      try {
        linkSync(src, dst);
      } catch {
        copyFileSync(src, dst);
      }
    }
  }
}

// Node's lookup: <dir>/node_modules/<name>, then each parent's, up to the repository root.
function findPackage(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === path.dirname(dir)) return undefined;
  }
}

// The externals and everything they depend on (dependencies + installed optionalDependencies),
// each at its path relative to the repository, so `npm list` in the stage sees a complete tree.
function runtimeTree(names) {
  const found = new Map();
  const visit = (name, fromDir, optional) => {
    const dir = findPackage(name, fromDir);
    if (!dir) {
      if (optional) return;
      throw new Error(`package-vsix: ${name} is not installed (run npm install)`);
    }
    if (found.has(dir)) return;
    found.set(dir, name);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const name of names) visit(name, root, false);
  return [...found.keys()];
}

function stageManifest(externals) {
  const pkg = manifest();
  const dependencies = Object.fromEntries(externals.map((name) => {
    const spec = pkg.dependencies?.[name];
    if (!spec) throw new Error(`package-vsix: ${name} is external in the bundles but not in package.json dependencies`);
    return [name, spec];
  }));
  // The VSIX's manifest: everything VS Code reads; not the repository's scripts, tools and CLI.
  for (const key of ['scripts', 'devDependencies', 'allowScripts', 'bin', 'private']) delete pkg[key];
  return { ...pkg, dependencies };
}

// The zip's central directory: [{ name, size, compressedSize, method, headerOffset }].
function centralDirectory(file, buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip file (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${i}`);
    const nameLength = buf.readUInt16LE(at + 28);
    entries.push({
      name: buf.toString('utf8', at + 46, at + 46 + nameLength),
      method: buf.readUInt16LE(at + 10),
      compressedSize: buf.readUInt32LE(at + 20),
      size: buf.readUInt32LE(at + 24),
      headerOffset: buf.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
  }
  return entries;
}

/** Entries of a zip file from its central directory: [{ name, size, compressedSize }]. */
export function listVsix(file) {
  return centralDirectory(file, readFileSync(file)).map(({ name, size, compressedSize }) => ({ name, size, compressedSize }));
}

/** One entry's contents (stored or deflated). */
export function readVsixEntry(file, name) {
  const buf = readFileSync(file);
  const entry = centralDirectory(file, buf).find((e) => e.name === name);
  if (!entry) throw new Error(`${file} has no entry ${name}`);
  const at = entry.headerOffset;
  if (buf.readUInt32LE(at) !== 0x04034b50) throw new Error(`${file}: bad local header for ${name}`);
  const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
  const data = buf.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return Buffer.from(data);
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`${file}: ${name} uses compression method ${entry.method}`);
}

/**
 * Build the linux-x64 VSIX. Resolves with { file, bytes, files, ms, externals }.
 * @param {{ out?: string, keepStage?: boolean, log?: (line: string) => void }} [options]
 */
export async function packageVsix({ out = defaultVsixPath(), keepStage = false, log = console.log } = {}) {
  const started = Date.now();
  // Inside the repository (out/, ignored by git) so the node_modules files can be hard-linked.
  mkdirSync(path.join(root, 'out'), { recursive: true });
  const stage = mkdtempSync(path.join(root, 'out', 'vsix-stage-'));
  try {
    const { externals, bundled } = await buildProduction(stage);
    log(`package: production bundles dist/extension.js, dist/server.js (externals: ${externals.join(', ') || 'none'})`);
    for (const rel of COPIED) {
      const src = path.join(root, rel);
      if (!existsSync(src)) throw new Error(`package-vsix: ${rel} is missing`);
      if (statSync(src).isDirectory()) linkTree(src, path.join(stage, rel));
      else {
        mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true });
        copyFileSync(src, path.join(stage, rel));
      }
    }
    for (const dir of runtimeTree(externals)) {
      linkTree(dir, path.join(stage, path.relative(root, dir)), (rel) => rel === 'node_modules' || rel.startsWith('node_modules/'));
    }
    writeFileSync(path.join(stage, 'README.md'), stagedReadme(readFileSync(path.join(root, 'README.md'), 'utf8')));
    // The externals' own dependencies serve their install scripts and do not ship (.vscodeignore): not listed.
    const shipped = externals.flatMap((name) => [findPackage(name, root), ...SHIPPED_WITH[name] ?? []].map((dir) => dir && path.resolve(root, dir)));
    writeFileSync(path.join(stage, 'ThirdPartyNotices.txt'), thirdPartyNotices([...bundled, ...shipped.filter(Boolean)]));
    writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(stageManifest(externals), null, 2)}\n`);

    mkdirSync(path.dirname(out), { recursive: true });
    rmSync(out, { force: true });
    const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
    if (!existsSync(vsce)) throw new Error('package-vsix: @vscode/vsce is not installed (npm install)');
    const args = [vsce, 'package', '--target', TARGET, '--out', out, '--no-update-package-json', '--no-yarn'];
    // No repository URL to publish under: keep README links relative (they resolve inside the
    // installed extension) instead of failing on them.
    if (!manifest().repository) args.push('--allow-missing-repository', '--no-rewrite-relative-links');
    const result = spawnSync(process.execPath, args, {
      cwd: stage,
      stdio: ['ignore', 'pipe', 'pipe'], // no stdin: a vsce question fails the run instead of waiting
      encoding: 'utf8',
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' },
    });
    if (result.status !== 0 || !existsSync(out)) {
      throw new Error(`package-vsix: vsce failed (exit ${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
    }
    const bytes = statSync(out).size;
    const entries = listVsix(out);
    const files = entries.filter((e) => !e.name.endsWith('/')).length;
    const ms = Date.now() - started;
    if (bytes >= MAX_VSIX_BYTES) {
      rmSync(out, { force: true });
      throw new Error(`package-vsix: the VSIX is ${(bytes / 2 ** 20).toFixed(1)} MB, over the ${MAX_VSIX_BYTES / 2 ** 20} MB limit`);
    }
    const shown = path.relative(process.cwd(), out).startsWith('..') ? out : path.relative(process.cwd(), out);
    log(`package: ${shown}: ${(bytes / 2 ** 20).toFixed(1)} MB (${bytes} bytes), ${files} files, ${(ms / 1000).toFixed(1)} s`);
    return { file: out, bytes, files, ms, externals };
  } finally {
    if (keepStage) log(`package: staging folder kept: ${stage}`);
    else rmSync(stage, { recursive: true, force: true });
  }
}

// CLI (no top-level await: the tests load this module through tsx's CommonJS transform).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const unknown = args.filter((a, i) => !['--out', '--keep-stage'].includes(a) && (outAt < 0 || i !== outAt + 1));
  if (unknown.length || (outAt >= 0 && !args[outAt + 1])) {
    console.error('usage: node scripts/package-vsix.mjs [--out FILE.vsix] [--keep-stage]');
    process.exit(2);
  }
  packageVsix({ out: outAt >= 0 ? path.resolve(args[outAt + 1]) : undefined, keepStage: args.includes('--keep-stage') }).catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
}
