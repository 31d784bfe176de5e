import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { listSupportedBackends } from 'onnxruntime-node';

/** The user's setting. `auto` tries webgpu, then cuda, then cpu. */
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

/** Which provider runs the model and why the ones before it did not. */
export interface ExecutionProviderReport {
  requested: ExecutionProviderSetting;
  active: ExecutionProviderName;
  rejected: ProviderRejection[];
  /** CPU intra-op threads in use (only meaningful when active is cpu). */
  intraOpNumThreads: number;
}

/** One line for logs and the status item, e.g. "cpu (webgpu: No supported adapters; cuda: not bundled)". */
export function describeExecutionProviders(report: ExecutionProviderReport): string {
  const head = report.active === 'cpu' ? `cpu, ${report.intraOpNumThreads} thread(s)` : report.active;
  if (report.rejected.length === 0) return head;
  return `${head} (${report.rejected.map((r) => `${r.name}: ${r.reason}`).join('; ')})`;
}

/** The providers to try, in order, for a setting. */
export function providerCandidates(setting: ExecutionProviderSetting): ExecutionProviderName[] {
  return setting === 'auto' ? [...AUTO_PROVIDER_ORDER] : [setting];
}

/**
 * Why a provider cannot be tried in this onnxruntime-node install, or null if it can.
 * CUDA's provider libraries come only from onnxruntime-node's install script (CUDA 12 + cuDNN).
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
      ? 'not bundled: its provider libraries are installed only by onnxruntime-node\'s install script ' +
          '(needs CUDA 12 + cuDNN; reinstall without ONNXRUNTIME_NODE_INSTALL=skip)'
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
