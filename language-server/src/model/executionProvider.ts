import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { listSupportedBackends } from 'onnxruntime-node';

/** The user's setting. `auto` tries webgpu (for large graphs only, see AUTO_WEBGPU_MIN_GRAPH_BYTES), then cuda, then cpu. */
export const EXECUTION_PROVIDER_SETTINGS = ['auto', 'webgpu', 'cuda', 'cpu'] as const;
export type ExecutionProviderSetting = (typeof EXECUTION_PROVIDER_SETTINGS)[number];
export type ExecutionProviderName = Exclude<ExecutionProviderSetting, 'auto'>;

export const AUTO_PROVIDER_ORDER: readonly ExecutionProviderName[] = ['webgpu', 'cuda', 'cpu'];

export function isExecutionProviderSetting(value: unknown): value is ExecutionProviderSetting {
  return typeof value === 'string' && (EXECUTION_PROVIDER_SETTINGS as readonly string[]).includes(value);
}

/** An execution provider that was tried (or skipped) and did not run, with the reason. */
export interface ProviderRejection {
  name: ExecutionProviderName;
  reason: string;
}

/**
 * Under `auto`, WebGPU is tried only where it was measured faster than the CPU path the engine would
 * use instead (docs/bench/providers-kv-on-gpu.md and gpu.md, the engine's token loop on an NVIDIA
 * H200 and its 16-core host, the KV cache kept on the GPU between steps): against one CPU thread
 * WebGPU ran at 0.29x on the embedded 17 MB model, 2.54x at 347 MB and 5.48x at 1,261 MB (with the
 * cache brought back every step the curve had crossed 1 near 200 MB). Against 8 threads it was
 * slower at 347 MB (2.54x against 3.43x) and faster at 1,261 MB (5.48x against 3.62x; 4.17x against
 * 3.62x with four rows, as CaT decodes; the same order in two more runs). So: graphs of 200 MB or
 * more when the CPU would get a single thread, and graphs of 1 GB or more whatever the CPU gets. An
 * explicit `webgpu` setting always tries it.
 */
export const AUTO_WEBGPU_MIN_GRAPH_BYTES = 200e6;
/** From this size `auto` tries WebGPU even when the CPU would get several threads (see above). */
export const AUTO_WEBGPU_OVER_THREADS_MIN_GRAPH_BYTES = 1e9;

/**
 * CPU threads per operator when none is set: half the cores, at most 8. On 2 cores that is 1, which
 * was fastest there for the small models; on a 16-core host 8 threads decoded 1.2x (17 MB model) to
 * 4.0x (1,261 MB) faster than 1, with identical tokens (docs/bench/providers.md).
 */
export function defaultIntraOpThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.min(8, Math.floor(cores / 2)));
}

/** Why `auto` skips `name` for a graph of `graphBytes` when the CPU would get `cpuThreads`, or null to try it. */
export function autoSkipReason(name: ExecutionProviderName, graphBytes: number, cpuThreads: number): string | null {
  if (name !== 'webgpu') return null;
  const mb = graphBytes / 1e6;
  if (graphBytes < AUTO_WEBGPU_MIN_GRAPH_BYTES) {
    return `skipped for a ${mb < 10 ? mb.toFixed(1) : mb.toFixed(0)} MB model: below ${AUTO_WEBGPU_MIN_GRAPH_BYTES / 1e6} MB the CPU decodes faster (set the provider to "webgpu" to use it anyway)`;
  }
  if (cpuThreads > 1 && graphBytes < AUTO_WEBGPU_OVER_THREADS_MIN_GRAPH_BYTES) {
    return `${cpuThreads} CPU threads decode faster below ${AUTO_WEBGPU_OVER_THREADS_MIN_GRAPH_BYTES / 1e9} GB (set the provider to "webgpu" to use it anyway)`;
  }
  return null;
}

/** Which provider runs the model and why the ones before it did not. */
export interface ExecutionProviderReport {
  requested: ExecutionProviderSetting;
  active: ExecutionProviderName;
  rejected: ProviderRejection[];
  /** CPU intra-op threads in use (only meaningful when active is cpu). */
  intraOpNumThreads: number;
  /** Outputs the session leaves in GPU memory (the KV cache on WebGPU); 0 or absent: all come back to the CPU. */
  outputsOnDevice?: number;
  /** Set when the KV cache could have stayed on the GPU but its row operations failed there (why). */
  kvCacheOnHostBecause?: string;
}

/** One line for logs and the status item, e.g. "cpu (webgpu: No supported adapters; cuda: not bundled)". */
export function describeExecutionProviders(report: ExecutionProviderReport): string {
  const head =
    report.active === 'cpu'
      ? `cpu, ${report.intraOpNumThreads} thread(s)`
      : `${report.active}${report.outputsOnDevice ? ', KV cache on the GPU' : ''}${
          report.kvCacheOnHostBecause ? `, KV cache on the CPU (on the GPU: ${report.kvCacheOnHostBecause})` : ''
        }`;
  if (report.rejected.length === 0) return head;
  return `${head} (${report.rejected.map((r) => `${r.name}: ${r.reason}`).join('; ')})`;
}

/** The providers to try, in order, for a setting. */
export function providerCandidates(setting: ExecutionProviderSetting): ExecutionProviderName[] {
  return setting === 'auto' ? [...AUTO_PROVIDER_ORDER] : [setting];
}

/**
 * Why a provider cannot be tried in this onnxruntime-node install, or null if it can.
 * CUDA's provider libraries come only from onnxruntime-node's install script (CUDA 12 + cuDNN), which the VSIX
 * and the repository's npm install (package.json allowScripts) leave out.
 */
export function providerUnavailableReason(name: ExecutionProviderName): string | null {
  if (name === 'cpu') return null;
  // On Linux, WebGPU (Dawn) reaches the GPU through Vulkan; without a loader it can only fail, and
  // trying prints a native warning on stderr, so say so up front.
  if (name === 'webgpu' && process.platform === 'linux' && !linuxVulkanLoaderPresent()) {
    return 'no Vulkan loader (libvulkan.so.1) found: install libvulkan1 and a GPU driver with Vulkan support';
  }
  const backend = listSupportedBackends().find((b) => b.name === name);
  if (backend === undefined) return `not supported by this onnxruntime-node build on ${process.platform}-${process.arch}`;
  if (!backend.bundled) {
    return name === 'cuda'
      ? 'not bundled: its libraries (for CUDA 12 + cuDNN) come only from onnxruntime-node\'s install script, which ' +
          'neither the VSIX nor this repository\'s npm install runs; use webgpu or cpu (from a source checkout: ' +
          'reinstall onnxruntime-node with its install script, without ONNXRUNTIME_NODE_INSTALL=skip)'
      : 'not bundled in this onnxruntime-node install';
  }
  return null;
}

const LINUX_LIBRARY_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib64', '/lib', '/usr/local/lib'];

function linuxVulkanLoaderPresent(): boolean {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LINUX_LIBRARY_DIRS];
  return dirs.some((dir) => existsSync(join(dir, 'libvulkan.so.1')));
}

/** Shortens onnxruntime's error text to its message (drops source paths and log prefixes). */
export function summarizeProviderError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const firstLine = text.split('\n').find((line) => line.trim().length > 0) ?? text;
  // e.g. "/onnxruntime_src/.../webgpu_context.cc:136 ...::<lambda()> cond was false. Failed to get a WebGPU adapter: ..."
  const tail = /(?:was false\.|\] :)\s*(.+)$/.exec(firstLine);
  return (tail ? tail[1] : firstLine).trim();
}
