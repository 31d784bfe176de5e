import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TOP_K } from '../decoding/confidence';
import { loadConfidenceCalibration, type ConfidenceCalibration } from '../decoding/stepConfidence';
import { CausalLM } from '../model/causalLM';
import { describeExecutionProviders } from '../model/executionProvider';
import { ModelError } from '../model/modelError';
import { sameModelSpec, type ModelSpec } from './settings';

/** A loaded model with the confidence calibration stored beside it. */
export interface LoadedModel {
  readonly model: CausalLM;
  readonly calibration: ConfidenceCalibration;
  /** The folder name, for the document header and the status item. */
  readonly name: string;
  /** Which execution provider runs and why the others did not. */
  readonly providers: string;
  /** Just the one that runs, e.g. "cpu, 1 thread(s)". */
  readonly activeProvider: string;
  /**
   * The weights and the provider that run them (folder, graph file and its modification time, provider): two loads
   * with the same identity decode the same tokens, whatever their thread counts.
   */
  readonly identity: string;
}

/** A solve's hold on a model: the model is not disposed while a lease on it is open. */
export interface ModelLease {
  readonly loaded: LoadedModel;
  /** Ends the hold; resolves when a model this retired is disposed. */
  release(): Promise<void>;
}

export interface ModelHostEvents {
  loading(spec: ModelSpec): void;
  loaded(loaded: LoadedModel): void;
  failed(error: Error): void;
  log(message: string): void;
}

interface Slot {
  readonly spec: ModelSpec;
  readonly loading: Promise<LoadedModel>;
  leases: number;
  retired: boolean;
  /** Resolves once the model is released (after its retirement and last lease). */
  readonly released: Promise<void>;
  markReleased(): void;
}

/**
 * Owns the loaded model. Nothing is loaded until the first solve asks for it; a settings change to
 * another model folder or execution provider retires the loaded model, which is disposed once the
 * solves still using it have finished, and the next solve loads the new one. Concurrent first
 * solves share one load. A failed load is not kept, so the next solve tries again.
 */
export class ModelHost {
  private spec: ModelSpec | null = null;
  private current: Slot | null = null;
  private readonly retired = new Set<Slot>();
  private shutDown = false;

  constructor(private readonly events: ModelHostEvents) {}

  configure(spec: ModelSpec): void {
    if (this.spec && sameModelSpec(this.spec, spec)) return;
    this.spec = spec;
    if (this.current) {
      this.events.log(`model settings changed: ${this.current.spec.modelDir} (${this.current.spec.executionProvider}) will be reloaded on the next solve`);
      this.retire(this.current);
      this.current = null;
    }
  }

  async acquire(): Promise<ModelLease> {
    if (this.shutDown) throw new Error('the CASPO server is shutting down');
    if (!this.spec) throw new Error('no model is configured yet (the client has not sent its settings)');
    if (!this.current) this.current = this.startLoad(this.spec);
    const slot = this.current;
    slot.leases++;
    let loaded: LoadedModel;
    try {
      loaded = await slot.loading;
    } catch (error) {
      if (this.current === slot) this.current = null;
      await this.endLease(slot);
      throw error;
    }
    let released = false;
    return {
      loaded,
      release: async () => {
        if (released) return;
        released = true;
        await this.endLease(slot);
      },
    };
  }

  /**
   * Releases every model (server shutdown; the server has cancelled the requests first). A model still leased is
   * released when its last lease ends, waited for up to `graceMs`: its decodes stop at their next forward. One still
   * in use after that is left to the process's exit, as releasing a session under a running decode fails the decode.
   */
  async dispose(graceMs: number): Promise<void> {
    this.shutDown = true;
    const slots = [...this.retired, ...(this.current ? [this.current] : [])];
    if (this.current) this.retire(this.current);
    this.current = null;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'graceOver'>((resolve) => (timer = setTimeout(() => resolve('graceOver'), graceMs)));
    const outcome = await Promise.race([Promise.all(slots.map((slot) => slot.released)), graceOver]);
    clearTimeout(timer);
    const busy = slots.filter((slot) => slot.leases > 0).map((slot) => slot.spec.modelDir);
    if (outcome === 'graceOver' && busy.length > 0) {
      this.events.log(`shutdown: the model in ${busy.join(', ')} is still in use after ${graceMs} ms; it is released when the server exits`);
    }
  }

  private startLoad(spec: ModelSpec): Slot {
    this.events.loading(spec);
    const started = performance.now();
    const loading = loadModel(spec).then(
      (loaded) => {
        this.events.log(`loaded ${spec.modelDir} in ${Math.round(performance.now() - started)} ms on ${loaded.providers}`);
        this.events.loaded(loaded);
        return loaded;
      },
      (error: unknown) => {
        const failure = modelLoadFailure(error, spec);
        this.events.failed(failure);
        throw failure;
      },
    );
    loading.catch(() => undefined); // handled by acquire(); keeps an unawaited retired load quiet
    let markReleased = (): void => undefined;
    const released = new Promise<void>((resolve) => (markReleased = resolve));
    return { spec, loading, leases: 0, retired: false, released, markReleased };
  }

  private async endLease(slot: Slot): Promise<void> {
    slot.leases--;
    if (slot.retired && slot.leases === 0) await this.disposeSlot(slot);
  }

  private retire(slot: Slot): void {
    slot.retired = true;
    if (slot.leases === 0) void this.disposeSlot(slot);
    else this.retired.add(slot);
  }

  private async disposeSlot(slot: Slot): Promise<void> {
    this.retired.delete(slot);
    try {
      await disposeLoaded(slot);
    } catch (error) {
      this.events.log(`releasing ${slot.spec.modelDir} failed: ${String(error)}`);
    } finally {
      slot.markReleased();
    }
  }
}

async function disposeLoaded(slot: Slot): Promise<void> {
  let loaded: LoadedModel;
  try {
    loaded = await slot.loading;
  } catch {
    return; // never loaded: nothing to release
  }
  await loaded.model.dispose();
}

async function loadModel(spec: ModelSpec): Promise<LoadedModel> {
  // cpuThreads 0 = automatic: the engine's default (half the cores, at most 8).
  const model = await CausalLM.load(spec.modelDir, {
    executionProvider: spec.executionProvider,
    intraOpNumThreads: spec.cpuThreads === 0 ? undefined : spec.cpuThreads,
  });
  try {
    const calibration = loadConfidenceCalibration(spec.modelDir, model.config.vocabSize, DEFAULT_TOP_K);
    const report = model.executionProvider;
    return {
      model,
      calibration,
      name: model.displayName,
      providers: describeExecutionProviders(report),
      activeProvider: describeExecutionProviders({ ...report, rejected: [] }),
      identity: [model.dir, model.graphFile, statSync(join(model.dir, model.graphFile)).mtimeMs, report.active].join('\n'),
    };
  } catch (error) {
    await model.dispose();
    throw error;
  }
}

/** A model that could not be loaded, as the user should read it; `setting` is the one to change. */
export class ModelLoadFailure extends Error {
  override readonly name = 'ModelLoadFailure';
  constructor(
    message: string,
    readonly setting: 'caspo.modelPath' | 'caspo.executionProvider',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A load error as the user should read it: what failed, the engine's reason, which setting to change. */
export function modelLoadFailure(error: unknown, spec: ModelSpec): ModelLoadFailure {
  const reason = error instanceof Error ? error.message : String(error);
  const providerUnavailable = error instanceof ModelError && error.code === 'executionProviderUnavailable';
  const fix = providerUnavailable
    ? `Set caspo.executionProvider to "auto" or "cpu" (it is "${spec.executionProvider}").`
    : 'Change caspo.modelPath, or clear it to use the embedded model.';
  return new ModelLoadFailure(`CASPO could not load the model in ${spec.modelDir}: ${reason} ${fix}`, providerUnavailable ? 'caspo.executionProvider' : 'caspo.modelPath', {
    cause: error,
  });
}
