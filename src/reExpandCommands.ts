/**
 * Re-expanding a pruned branch: from the code lens or the quick fix ("N pruned branches —
 * re-expand": a quick pick of the pruned siblings unless a node id is given) and from the
 * Reasoning Tree view (a pruned node's "Re-expand"). The server continues the branch to its answer
 * (`caspo/expandBranch`) and appends it to the reasoning document, which is then shown at the new
 * section. Its progress notification says what the server reports meanwhile (how many solves it waits for).
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { LSPErrorCodes, ResponseError, WorkDoneProgress } from 'vscode-languageclient/node';
import type { Ctx } from './ctx';
import { errorActions, showError, type ErrorAction } from './errorActions';
import { expandBranchRequest, onOneLine, type ExpandBranchResult, type PrunedBranch, type ReasoningTreeNode, type ReExpandArguments } from './protocol';

/** What the commands resolve to (tests read it; the user sees the document and messages). */
export interface ReExpandOutcome {
  uri?: string;
  result?: ExpandBranchResult;
  error?: string;
  /** The buttons the error message offered and what each runs. */
  actions?: ErrorAction[];
  cancelled?: boolean;
}

interface Target {
  solveId: string;
  uri: string;
  nodeId: string;
  stepIndex: number;
}

/** `caspo.reExpandBranch(args, nodeId?)`: the code lens / quick fix command. */
export function reExpandBranchCommand(ctx: Ctx) {
  return async (args?: unknown, nodeId?: unknown): Promise<ReExpandOutcome | undefined> => {
    if (!isReExpandArguments(args)) return fail('Re-expand a pruned branch from its code lens, quick fix or the Reasoning Tree view.', []);
    const chosen = typeof nodeId === 'string' ? nodeId : await pickBranch(args);
    if (chosen === undefined) return undefined;
    return expandBranch(ctx, { solveId: args.solveId, uri: args.uri, nodeId: chosen, stepIndex: args.stepIndex });
  };
}

/** `caspo.reExpandNode(node)`: the Reasoning Tree view's action on a pruned node. */
export function reExpandNodeCommand(ctx: Ctx) {
  return async (element?: Pick<ReasoningTreeNode, 'id'> & Partial<ReasoningTreeNode>): Promise<ReExpandOutcome | undefined> => {
    const model = ctx.reasoningTree.current;
    const node = element && model?.node(element.id);
    if (!model || !node) return fail('Choose a pruned node in the Reasoning Tree view to re-expand.', []);
    // Node ids repeat across solves: a row of a tree the view no longer shows must not re-expand this one's node.
    const stale = (['text', 'depth', 'parentId'] as const).some((key) => element[key] !== undefined && element[key] !== node[key]);
    if (stale) return fail('The Reasoning Tree view now shows another tree than the one that node came from: choose the node again.', []);
    return expandBranch(ctx, { solveId: model.solveId, uri: model.tree.uri, nodeId: node.id, stepIndex: node.depth });
  };
}

async function pickBranch(args: ReExpandArguments): Promise<string | undefined> {
  const items = args.candidates.map((candidate: PrunedBranch) => ({
    label: onOneLine(candidate.text) || '(no text)',
    description: `${(candidate.confidence * 100).toFixed(1)}%`,
    detail: candidate.expanded ? 'Already re-expanded: shows its section in the reasoning document' : undefined,
    nodeId: candidate.nodeId,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: `Re-expand a branch CaT pruned at step ${args.stepIndex + 1}`,
    placeHolder: 'The pruned candidate to continue to its answer',
  });
  return picked?.nodeId;
}

async function expandBranch(ctx: Ctx, target: Target): Promise<ReExpandOutcome> {
  let client;
  try {
    client = await ctx.runningClient();
  } catch (error) {
    return fail((error as Error).message, errorActions(error));
  }
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `CASPO: continuing the branch pruned at step ${target.stepIndex + 1}…`, cancellable: true },
    async (progress, token) => {
      const workDoneToken = randomUUID();
      const listening = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
        if (value.kind !== 'end' && value.message) progress.report({ message: value.message });
      });
      try {
        const result = await client.sendRequest(expandBranchRequest, { solveId: target.solveId, nodeId: target.nodeId, workDoneToken }, token);
        ctx.documents.rerendered(result);
        // The branch is in the document whether or not the editor could be scrolled to it.
        await revealLine(ctx, result.uri, result.alternative.headingLine).catch((error: unknown) =>
          ctx.output.warn(`showing the re-expanded branch ${target.nodeId}: ${(error as Error).message}`),
        );
        return { uri: result.uri, result };
      } catch (error) {
        if (error instanceof ResponseError && error.code === LSPErrorCodes.RequestCancelled) return { cancelled: true };
        const message = error instanceof Error ? error.message : String(error);
        ctx.output.error(`re-expanding ${target.nodeId} of solve ${target.solveId} failed: ${message}`);
        return { uri: target.uri, ...fail(message, errorActions(error)) };
      } finally {
        listening.dispose();
      }
    },
  );
}

/** Shows the document where it is already visible (else beside), once it has the new text, at `line`. */
export async function revealLine(ctx: Ctx, uri: string, line: number): Promise<void> {
  const target = vscode.Uri.parse(uri).toString();
  const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === target);
  if (visible) await vscode.window.showTextDocument(visible.document, { viewColumn: visible.viewColumn, preserveFocus: true, preview: false });
  else await ctx.editors.show(uri);
  await ctx.documents.whenShown(uri);
  const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === target);
  if (!editor || line >= editor.document.lineCount) return;
  editor.selection = new vscode.Selection(line, 0, line, 0);
  editor.revealRange(new vscode.Range(line, 0, line, 0), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

function isReExpandArguments(value: unknown): value is ReExpandArguments {
  const v = value as Partial<ReExpandArguments> | undefined;
  return typeof v?.solveId === 'string' && typeof v.uri === 'string' && typeof v.stepIndex === 'number' && Array.isArray(v.candidates);
}

function fail(message: string, actions: ErrorAction[]): ReExpandOutcome {
  return { error: message, actions: showError(message, actions) };
}
