import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createProtocolConnection,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  IPCMessageReader,
  IPCMessageWriter,
  ShutdownRequest,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import {
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  type LogMessageParams,
} from 'vscode-languageserver-protocol';
import {
  documentChangedNotification,
  serverStatusNotification,
  solveFinishedNotification,
  solveQueuedNotification,
  solveStartedNotification,
  stepAddedNotification,
  treeChangedNotification,
  type CatSettings,
  type DocumentChangedParams,
  type ServerSettings,
  type ServerStatusParams,
  type SolveFinishedParams,
  type SolveQueuedParams,
  type SolveStartedParams,
  type StepAddedParams,
  type TreeChangedParams,
} from '../../../src/protocol';

export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const EMBEDDED_MODEL_DIR = join(REPO_ROOT, 'models', 'caspo-arith');

/** A sum the embedded model works through until the token limit: it decodes long enough to cancel or queue behind. */
export const LONG_PROBLEM = Array.from({ length: 39 }, (_, i) => String(i * 7 + 10)).join(' + ');
/**
 * A hard-split problem (five operations): under the default CaT settings the embedded model prunes candidates on it
 * (below τ = 0.5, or beyond the width), its greedy step among them at step 5.
 */
export const PRUNING_PROBLEM = 'Work out 58 + 633+(681*84 - 894 + 68).';
const SERVER_ENTRY = join(REPO_ROOT, 'language-server', 'src', 'server.ts');

const MANIFEST_SETTINGS: Record<string, { default: unknown }> = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).contributes
  .configuration.properties;
const manifestDefault = <T>(key: string) => MANIFEST_SETTINGS[`caspo.${key}`].default as T;

/** package.json's CaT settings, as the extension sends them by default. */
export function defaultCatSettings(overrides: Partial<CatSettings> = {}): CatSettings {
  return {
    branches: manifestDefault('cat.branches'),
    width: manifestDefault('cat.width'),
    threshold: manifestDefault('cat.threshold'),
    thresholdPercentile: manifestDefault('cat.thresholdPercentile'),
    budget: manifestDefault('cat.budget'),
    temperature: manifestDefault('cat.temperature'),
    firstCandidate: manifestDefault('cat.firstCandidate'),
    branchBelow: manifestDefault('cat.branchBelow'),
    ...overrides,
  };
}

/** Settings as the extension would send them with package.json's defaults (cpu: no GPU here). */
export function testSettings(overrides: Partial<ServerSettings> = {}): ServerSettings {
  return {
    strategy: manifestDefault('strategy'),
    cat: defaultCatSettings(),
    modelDir: EMBEDDED_MODEL_DIR,
    executionProvider: 'cpu',
    cpuThreads: manifestDefault('cpuThreads'),
    bands: { high: 0.8, medium: 0.5 },
    warningThreshold: 0.5,
    maxTokens: 256,
    temperature: 0,
    metric: 'modelDefault',
    stepDelimiter: '\n',
    ...overrides,
  };
}

interface ReceivedParams {
  queued: SolveQueuedParams;
  started: SolveStartedParams;
  step: StepAddedParams;
  finished: SolveFinishedParams;
  status: ServerStatusParams;
  diagnostics: PublishDiagnosticsParams;
  changed: DocumentChangedParams;
  tree: TreeChangedParams;
  /** What the server wrote to the client's log (window/logMessage). */
  log: LogMessageParams;
}
type Kind = keyof ReceivedParams;
type Received = { [K in Kind]: { kind: K; params: ReceivedParams[K] } }[Kind];

/**
 * The real language server (from source, through tsx) in a child process, spoken to over Node IPC
 * exactly as vscode-languageclient does. Every notification is recorded in arrival order, and tests
 * wait for notifications, never for time.
 */
export class LanguageServerProcess {
  readonly received: Received[] = [];
  /** What the server wrote to stderr (onnxruntime's own warnings go there). */
  stderr = '';
  private waiters: { test: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly connection: ProtocolConnection,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    const record = (entry: Received) => {
      this.received.push(entry);
      for (const waiter of this.waiters.filter((w) => w.test(entry))) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(entry);
      }
    };
    // Like VS Code's content provider: open each reasoning document when its solve starts and send
    // the new text on every update (the server anchors diagnostics to the text the editor has).
    const versions = new Map<string, number>();
    const mirror = ({ uri, text }: { uri: string; text: string }) => {
      const version = (versions.get(uri) ?? 0) + 1;
      versions.set(uri, version);
      if (version === 1) {
        void connection.sendNotification(DidOpenTextDocumentNotification.type, {
          textDocument: { uri, languageId: 'caspo-reasoning', version, text },
        });
      } else {
        void connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
      }
    };
    connection.onNotification(solveQueuedNotification, (params) => record({ kind: 'queued', params }));
    connection.onNotification(solveStartedNotification, (params) => {
      mirror(params);
      record({ kind: 'started', params });
    });
    connection.onNotification(stepAddedNotification, (params) => {
      mirror(params);
      record({ kind: 'step', params });
    });
    connection.onNotification(solveFinishedNotification, (params) => {
      mirror(params);
      record({ kind: 'finished', params });
    });
    connection.onNotification(documentChangedNotification, (params) => {
      mirror(params);
      record({ kind: 'changed', params });
    });
    connection.onNotification(treeChangedNotification, (params) => record({ kind: 'tree', params }));
    connection.onNotification(serverStatusNotification, (params) => record({ kind: 'status', params }));
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => record({ kind: 'diagnostics', params }));
    connection.onNotification(LogMessageNotification.type, (params) => record({ kind: 'log', params }));
  }

  static async start(settings: ServerSettings = testSettings()): Promise<LanguageServerProcess> {
    const child = fork(SERVER_ENTRY, ['--node-ipc'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const connection = createProtocolConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    const server = new LanguageServerProcess(child, connection);
    connection.listen();
    try {
      await connection.sendRequest(InitializeRequest.type, {
        processId: process.pid,
        rootUri: null,
        capabilities: {},
        initializationOptions: { settings },
      });
    } catch (error) {
      connection.dispose();
      child.kill();
      throw error;
    }
    await connection.sendNotification(InitializedNotification.type, {});
    return server;
  }

  /** Resolves with the first notification (already received or future) that passes `test`. */
  waitFor<K extends Kind>(kind: K, test: (params: ReceivedParams[K]) => boolean = () => true): Promise<ReceivedParams[K]> {
    const matches = (r: Received) => r.kind === kind && test(r.params as ReceivedParams[K]);
    const seen = this.received.find(matches);
    if (seen) return Promise.resolve(seen.params as ReceivedParams[K]);
    return new Promise((resolve) => this.waiters.push({ test: matches, resolve: (r) => resolve(r.params as ReceivedParams[K]) }));
  }

  of<K extends Kind>(kind: K): ReceivedParams[K][] {
    return this.received.filter((r) => r.kind === kind).map((r) => r.params as ReceivedParams[K]);
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await this.connection.sendRequest(ShutdownRequest.type);
      await this.connection.sendNotification(ExitNotification.type);
      await exited;
    }
    this.connection.dispose();
  }
}
