/**
 * The Reasoning Tree view: every node of the active solve's tree (chosen path, kept, flagged and
 * pruned candidates, each with its confidence); pruned nodes offer "Re-expand". The active solve is
 * the reasoning document of the active editor, else the solve started last. The tree comes from the
 * server (`caspo/reasoningTree`), fetched again when it says the tree changed (debounced).
 */
import * as vscode from 'vscode';
import { State, type BaseLanguageClient } from 'vscode-languageclient';
import {
  REASONING_SCHEME,
  reasoningTreeRequest,
  solveIdFromUri,
  treeChangedNotification,
  type BandThresholds,
  type ConfidenceBand,
  type ReasoningTreeNode,
} from './protocol';
import { ReasoningTreeModel, type NodeLook } from './reasoningTreeModel';

export const REASONING_TREE_VIEW = 'caspo.reasoningTree';
/** Reveals a shown node's line in its reasoning document (the command of a tree item). */
export const REVEAL_LINE_COMMAND = 'caspo.revealReasoningLine';

const REFETCH_DELAY_MS = 100;

/** A tree item as tests read it through `caspo.debug.reasoningTree`. */
export interface TreeItemSnapshot {
  nodeId: string;
  level: number;
  label: string;
  description: string;
  contextValue: string;
  icon: string;
}

export class ReasoningTreeView implements vscode.TreeDataProvider<ReasoningTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ReasoningTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<ReasoningTreeNode>;
  private readonly subscriptions: vscode.Disposable[];
  private model: ReasoningTreeModel | undefined;
  /** Why the last fetch of the active solve's tree failed (shown instead of "Loading…"). */
  private failure: string | undefined;
  private disposed = false;
  private activeUri: string | undefined;
  private client: BaseLanguageClient | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The fetch in flight, so a snapshot can wait for it. */
  private fetching: Promise<void> = Promise.resolve();

  constructor(
    private readonly bands: () => BandThresholds | undefined,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.view = vscode.window.createTreeView(REASONING_TREE_VIEW, { treeDataProvider: this, showCollapseAll: true });
    this.subscriptions = [
      this.view,
      this.changed,
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor?.document.uri.scheme === REASONING_SCHEME) this.follow(editor.document.uri.toString());
      }),
    ];
    this.render();
  }

  /** Listens to one client's tree notifications; the caller owns the returned disposables. */
  attach(client: BaseLanguageClient): vscode.Disposable[] {
    this.client = client;
    return [
      client.onNotification(treeChangedNotification, ({ uri }) => {
        if (uri === this.activeUri) this.schedule();
      }),
      // A (re)started server: what the view shows came from the one before, so ask this one.
      client.onDidChangeState(({ newState }) => {
        if (newState === State.Running && this.activeUri !== undefined) this.schedule();
      }),
      {
        dispose: () => {
          if (this.client !== client) return;
          this.client = undefined;
          // Its tree's actions would go to a server that is gone: show why instead.
          if (this.model !== undefined) {
            this.model = undefined;
            this.failure = 'the CASPO language server was stopped or restarted since this solve; solve the problem again';
            this.render();
          }
        },
      },
    ];
  }

  /** Shows the tree of the solve behind `uri` (a reasoning document), fetching it soon. */
  follow(uri: string): void {
    if (solveIdFromUri(uri) === null) return;
    if (uri !== this.activeUri) {
      this.activeUri = uri;
      this.model = undefined;
      this.failure = undefined;
      this.render();
    }
    this.schedule();
  }

  get current(): ReasoningTreeModel | undefined {
    return this.model;
  }

  /** The items as the view shows them, depth first, after fetching the tree of `uri` (tests). */
  async snapshot(uri?: string): Promise<TreeItemSnapshot[]> {
    if (uri !== undefined) this.follow(uri);
    this.fetchNow();
    await this.fetching;
    const model = this.model;
    if (!model) return [];
    return model.walk().map(({ node, level }) => {
      const item = this.getTreeItem(node);
      return {
        nodeId: node.id,
        level,
        label: typeof item.label === 'string' ? item.label : (item.label?.label ?? ''),
        description: typeof item.description === 'string' ? item.description : '',
        contextValue: item.contextValue ?? '',
        icon: item.iconPath instanceof vscode.ThemeIcon ? item.iconPath.id : '',
      };
    });
  }

  /** Redraws the items (a band threshold changed: their icons' colours). */
  restyle(): void {
    this.changed.fire(undefined);
  }

  /** The view's message as it is now, fetching nothing (tests). */
  get shownMessage(): string | undefined {
    return this.view.message;
  }

  /** The view's message after fetching the tree of `uri` (tests). */
  async messageFor(uri: string): Promise<string | undefined> {
    this.follow(uri);
    this.fetchNow();
    await this.fetching;
    return this.view.message;
  }

  getTreeItem(node: ReasoningTreeNode): vscode.TreeItem {
    const model = this.model;
    if (!model) return new vscode.TreeItem(node.text);
    const shown = model.present(node, this.bands());
    const item = new vscode.TreeItem(shown.label, collapsibleState(shown.collapsible));
    // A leaf that later gains children (a re-expanded pruned node, a step the live search goes on from) must
    // open as \`collapsible\` says: VS Code keeps a row's collapsed state by id across refreshes, so a row with
    // children is another row than the leaf it was.
    item.id = `${model.solveId}/${node.id}${shown.collapsible === 'none' ? '/leaf' : ''}`;
    item.description = shown.description;
    item.tooltip = shown.tooltip;
    item.contextValue = shown.contextValue;
    item.iconPath = iconOf(shown.look);
    if (node.line !== null) {
      item.command = { title: 'Show in the reasoning document', command: REVEAL_LINE_COMMAND, arguments: [model.tree.uri, node.line] };
    }
    return item;
  }

  getChildren(node?: ReasoningTreeNode): ReasoningTreeNode[] {
    if (!this.model) return [];
    return node ? this.model.children(node) : this.model.roots();
  }

  getParent(node: ReasoningTreeNode): ReasoningTreeNode | undefined {
    return this.model?.parent(node);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fetchNow();
    }, REFETCH_DELAY_MS);
  }

  private fetchNow(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const uri = this.activeUri;
    const solveId = uri === undefined ? null : solveIdFromUri(uri);
    const client = this.client;
    if (solveId === null) return;
    if (!client?.isRunning()) {
      this.model = undefined;
      this.failure = 'the CASPO language server is not running (solve a problem to start it)';
      this.render();
      return;
    }
    // Fetches run one after the other, so an older answer never replaces a newer one.
    this.fetching = this.fetching.then(async () => {
      try {
        const tree = await client.sendRequest(reasoningTreeRequest, { solveId });
        if (uri !== this.activeUri) return;
        // Another document of the same id (solve ids restart with the extension host): not this one's tree.
        if (tree.uri !== uri) throw new Error(`the server's solve ${solveId} is ${tree.uri}, not this document; solve again`);
        this.model = new ReasoningTreeModel(tree);
        this.failure = undefined;
      } catch (error) {
        if (uri !== this.activeUri) return;
        this.model = undefined;
        this.failure = (error as Error).message;
        this.log.warn(`reasoning tree of ${uri}: ${this.failure}`);
      }
      this.render();
    });
  }

  private render(): void {
    if (this.disposed) return; // e.g. the client scope ends after the view, when the extension deactivates
    const model = this.model;
    if (this.activeUri === undefined) this.view.message = undefined; // the welcome content says what to do
    else if (!model) this.view.message = this.failure === undefined ? 'Loading the reasoning tree…' : `No reasoning tree to show: ${this.failure}`;
    else if (model.tree.nodes.length === 0) {
      this.view.message =
        model.tree.strategy === 'cat' ? 'No step has been expanded yet.' : 'This solve used greedy decoding: one path, nothing pruned. Set caspo.strategy to "cat" to branch and prune.';
    } else {
      const pruned = model.tree.nodes.filter((n) => n.status === 'pruned').length;
      this.view.message = `${model.tree.nodes.length} nodes, ${pruned} pruned${model.tree.finished ? '' : ' · solving…'}`;
    }
    this.view.description = this.activeUri === undefined ? undefined : `solve ${solveIdFromUri(this.activeUri)}`;
    this.changed.fire(undefined);
  }
}

function collapsibleState(state: 'none' | 'expanded' | 'collapsed'): vscode.TreeItemCollapsibleState {
  if (state === 'expanded') return vscode.TreeItemCollapsibleState.Expanded;
  if (state === 'collapsed') return vscode.TreeItemCollapsibleState.Collapsed;
  return vscode.TreeItemCollapsibleState.None;
}

/** Kept nodes in their band's colour (filled on the chosen path); pruned greyed with their own icon. */
function iconOf(look: NodeLook): vscode.ThemeIcon {
  const bandColor = (band: ConfidenceBand | undefined) => (band ? new vscode.ThemeColor(`caspo.confidence.${band}`) : undefined);
  switch (look.kind) {
    case 'chosen':
      return new vscode.ThemeIcon('pass-filled', bandColor(look.band));
    case 'kept':
      return new vscode.ThemeIcon('circle-outline', bandColor(look.band));
    case 'answer':
      return new vscode.ThemeIcon('pass', bandColor(look.band));
    case 'flagged':
      return new vscode.ThemeIcon('warning', new vscode.ThemeColor('caspo.confidence.low'));
    case 'pruned':
      return new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground'));
  }
}
