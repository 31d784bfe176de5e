import type { ReasoningTree, TreeNode } from '../trace/tree';
import { ROOT_ID } from '../trace/tree';
import type { StepContext } from '../handlers/treeSteps';
import type { LoadedModel } from './modelHost';

/** What `exclusive` needs of an LSP CancellationToken. */
export interface CancellationSignal {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/**
 * The reasoning tree of one CaT solve as the server follows it: while the search runs, the nodes
 * it reported (`onNode` hands out the live node objects, so later status changes show through);
 * once it has ended, the engine's tree itself, which re-expanding a branch then grows.
 */
export class SolveSearch {
  private readonly seen = new Map<string, Readonly<TreeNode>>();
  private finalTree: ReasoningTree | null = null;
  /** Re-expansions grow the tree: they run one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Work queued by `exclusive` that has not ended, the running one included. */
  private pending = 0;
  /** Tree ids of the chosen path's nodes shown as the document's steps, first step first. */
  readonly shownPath: string[] = [];

  constructor(
    /** The model the tree was decoded with: re-expansion must continue with the same one. */
    readonly loaded: LoadedModel,
    /** How the solve turns nodes into document steps (metric, calibration, token texts). */
    readonly stepContext: StepContext,
  ) {}

  /** A node joined the tree or changed status. */
  saw(node: Readonly<TreeNode>): void {
    if (node.id !== ROOT_ID) this.seen.set(node.id, node);
  }

  /** The search ended: from now on the engine's tree is the record. */
  adopt(tree: ReasoningTree): void {
    this.finalTree = tree;
    for (const node of tree.nodes) this.saw(node);
  }

  /**
   * Runs `work` after the work queued before it on this tree (re-expansions change the tree). With
   * `cancel`, a request cancelled while it waits is answered at once with `cancel.error()` (its work
   * still takes its turn, to find the cancellation and return); once the work runs, the work itself
   * answers a cancellation.
   */
  exclusive<T>(work: () => Promise<T>, cancel?: { token: CancellationSignal; error: () => Error }): Promise<T> {
    let started = false;
    const start = () => {
      started = true;
      return work();
    };
    const run = this.queue.then(start, start);
    this.pending++;
    this.queue = run.catch(() => undefined).finally(() => this.pending--);
    if (cancel === undefined) return run;
    return new Promise<T>((resolve, reject) => {
      const waiting = cancel.token.onCancellationRequested(() => {
        if (!started) reject(cancel.error());
      });
      // Cancelled before it was dispatched: the event never fires.
      if (cancel.token.isCancellationRequested && !started) reject(cancel.error());
      run.then(resolve, reject).finally(() => waiting.dispose());
    });
  }

  /** Whether work given to `exclusive` now would wait for earlier work to end. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** The engine's tree, once the search has ended. */
  get tree(): ReasoningTree | null {
    return this.finalTree;
  }

  /** Every node but the root, parents before children. */
  nodes(): Readonly<TreeNode>[] {
    return [...this.seen.values()];
  }

  node(id: string): Readonly<TreeNode> | undefined {
    return this.seen.get(id);
  }

  children(id: string): Readonly<TreeNode>[] {
    return this.nodes().filter((node) => node.parentId === id);
  }

  /** The nodes under `id`'s parent, `id` itself included (none for an unknown id). */
  siblings(id: string): Readonly<TreeNode>[] {
    const node = this.seen.get(id);
    return node ? this.children(node.parentId ?? ROOT_ID) : [];
  }

  /** The siblings of `id` that were pruned (beside it under the same parent). */
  prunedSiblings(id: string): Readonly<TreeNode>[] {
    return this.siblings(id).filter((sibling) => sibling.id !== id && sibling.status === 'pruned');
  }

  /** Ids from the first step down to `id`. */
  path(id: string): string[] {
    const out: string[] = [];
    for (let node = this.seen.get(id); node !== undefined; node = node.parentId === null ? undefined : this.seen.get(node.parentId)) out.push(node.id);
    return out.reverse();
  }

  /**
   * The path every answer the search can still give goes through: the common prefix of the paths to
   * the nodes that may still end up chosen (those it may continue, those that completed, and those
   * the budget stopped). It only grows while the search runs, so its steps can be shown at once.
   */
  settledPath(): string[] {
    const nodes = this.nodes();
    const parents = new Set(nodes.map((node) => node.parentId));
    const open = nodes.filter(
      (node) =>
        node.status === 'completed' ||
        (node.status === 'pruned' && node.prunedBy === 'budget') ||
        ((node.status === 'kept' || node.status === 'flagged') && !parents.has(node.id)),
    );
    if (open.length === 0) return [];
    const paths = open.map((node) => this.path(node.id));
    const common: string[] = [];
    for (let i = 0; paths.every((p) => i < p.length && p[i] === paths[0][i]); i++) common.push(paths[0][i]);
    return common;
  }
}
