// Types for package-vsix.mjs (plain JS so `npm run package` runs with bare `node`).
export const TARGET: 'linux-x64';
/** The VSIX must stay under this size (60 MB). */
export const MAX_VSIX_BYTES: number;
/** out/<name>-<version>-linux-x64.vsix */
export function defaultVsixPath(): string;

export interface VsixEntry {
  name: string;
  /** Uncompressed bytes. */
  size: number;
  compressedSize: number;
}
/** The entries of a zip file, from its central directory. */
export function listVsix(file: string): VsixEntry[];
/** One entry's contents (stored or deflated). */
export function readVsixEntry(file: string, name: string): Buffer;

export interface PackageResult {
  file: string;
  bytes: number;
  /** Files in the VSIX (extension.vsixmanifest and [Content_Types].xml included). */
  files: number;
  ms: number;
  /** Packages the bundles load from node_modules at run time. */
  externals: string[];
}
/** Production bundles + staging folder + vsce package --target linux-x64. */
export function packageVsix(options?: { out?: string; keepStage?: boolean; log?: (line: string) => void }): Promise<PackageResult>;
/** Files package-vsix copies into the VSIX's stage as they are (npm start rebuilds the VSIX when one changes). */
export const COPIED: string[];
/** The README as the VSIX ships it: images with a relative path become their captions; a relative <img> throws. */
export function stagedReadme(text: string): string;
/** ThirdPartyNotices.txt for the package folders given. */
export function thirdPartyNotices(dirs: string[]): string;
