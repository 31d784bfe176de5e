import { basename } from 'node:path';
import type { ServerStatusParams } from '../../../src/protocol';
import type { LoadedModel } from '../host/modelHost';
import type { ModelSpec } from '../host/settings';

/** Keeps the server's state and sends it as `caspo/serverStatus` on every change. */
export class ServerStatusReporter {
  private current: ServerStatusParams = { state: 'idle' };

  constructor(private readonly send: (status: ServerStatusParams) => void) {}

  get status(): ServerStatusParams {
    return this.current;
  }

  loading(spec: ModelSpec): void {
    this.set({ state: 'loadingModel', model: basename(spec.modelDir), message: `Loading ${spec.modelDir} (${spec.executionProvider})` });
  }

  loaded(loaded: LoadedModel): void {
    this.set({ state: 'ready', model: loaded.name, executionProvider: loaded.providers });
  }

  failed(error: Error): void {
    this.set({ state: 'error', message: error.message });
  }

  solveFinished(loaded: LoadedModel, tokensPerSecond: number): void {
    this.set({ state: 'ready', model: loaded.name, executionProvider: loaded.providers, tokensPerSecond });
  }

  /** An internal error the server survived. */
  internalError(message: string): void {
    this.set({ ...this.current, state: 'error', message });
  }

  private set(status: ServerStatusParams): void {
    this.current = status;
    this.send(status);
  }
}
