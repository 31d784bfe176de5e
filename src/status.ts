/** The language status item: model, execution provider and tokens/s, driven by `caspo/serverStatus`. */
import * as vscode from 'vscode';
import { REASONING_LANGUAGE_ID, type ServerStatusParams } from './protocol';

export type ClientPhase = 'starting' | 'running' | 'stopped';

export class ServerStatusItem implements vscode.Disposable {
  private readonly item = vscode.languages.createLanguageStatusItem('caspo.server', { language: REASONING_LANGUAGE_ID });
  private server: ServerStatusParams = { state: 'idle' };
  private phase: ClientPhase = 'starting';

  constructor() {
    this.item.name = 'CASPO';
    this.item.command = { title: 'Show Log', command: 'caspo.showLog' };
    this.render();
  }

  serverStatus(status: ServerStatusParams): void {
    this.server = status;
    this.render();
  }

  clientPhase(phase: ClientPhase): void {
    this.phase = phase;
    // A new server process starts with no model loaded.
    if (phase !== 'running') this.server = { state: 'idle' };
    this.render();
  }

  dispose(): void {
    this.item.dispose();
  }

  private render(): void {
    const { item, server } = this;
    item.busy = this.phase === 'starting' || server.state === 'loadingModel';
    item.severity = this.phase === 'stopped' || server.state === 'error' ? vscode.LanguageStatusSeverity.Error : vscode.LanguageStatusSeverity.Information;
    if (this.phase !== 'running') {
      item.text = this.phase === 'starting' ? 'CASPO: starting' : 'CASPO: server stopped';
      item.detail = this.phase === 'stopped' ? 'Run "CASPO: Restart Language Server"' : undefined;
      return;
    }
    switch (server.state) {
      case 'idle':
        item.text = 'CASPO';
        item.detail = 'the model loads on the first solve';
        break;
      case 'loadingModel':
        item.text = `CASPO: loading ${server.model ?? 'model'}`;
        item.detail = server.message;
        break;
      case 'ready':
      case 'error': {
        const provider = server.executionProvider?.split(' (')[0];
        item.text = [server.model ?? 'CASPO', provider].filter(Boolean).join(' · ');
        const speed = server.tokensPerSecond === undefined ? undefined : `${Math.round(server.tokensPerSecond)} tokens/s`;
        item.detail = server.state === 'error' ? server.message : [speed, server.executionProvider].filter(Boolean).join(' · ');
        break;
      }
    }
  }
}
