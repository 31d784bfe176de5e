/**
 * What the Reasoning Tree view shows for a solve's tree: parent/child links, and each node's
 * label, description, icon and context value. Pure (no `vscode`), so it is unit-tested directly.
 */
import { confidenceBand, ellipsize, onOneLine, type BandThresholds, type ConfidenceBand, type ReasoningTreeNode, type ReasoningTreeResult } from './protocol';

/**
 * How a node is drawn: kept nodes in their confidence band (none while the band settings are
 * invalid), the rest by what happened to them.
 */
export type NodeLook = { kind: 'chosen' | 'kept' | 'answer'; band: ConfidenceBand | undefined } | { kind: 'pruned' | 'flagged' };

/** The tree item's `contextValue`: the view's menus show "Re-expand" on pruned nodes only. */
export const PRUNED_CONTEXT = 'caspo.node.pruned';
export const PRUNED_EXPANDED_CONTEXT = 'caspo.node.prunedExpanded';
export const KEPT_CONTEXT = 'caspo.node.kept';

export interface NodePresentation {
  label: string;
  description: string;
  tooltip: string;
  look: NodeLook;
  contextValue: string;
  /** Open when it has children and lies on the chosen path or leads to a shown branch. */
  collapsible: 'none' | 'expanded' | 'collapsed';
}

const LABEL_LENGTH = 60;

const PRUNED_BECAUSE: Record<NonNullable<ReasoningTreeNode['prunedBy']>, string> = {
  threshold: 'below the threshold',
  width: 'beyond the width',
  budget: 'out of budget',
};

export class ReasoningTreeModel {
  private readonly byId = new Map<string, ReasoningTreeNode>();
  private readonly childIds = new Map<string | null, string[]>();
  /** Nodes with a shown line (chosen path, re-expanded branches) below them. */
  private readonly leadsToShown = new Set<string>();

  constructor(readonly tree: ReasoningTreeResult) {
    for (const node of tree.nodes) {
      this.byId.set(node.id, node);
      const siblings = this.childIds.get(node.parentId);
      if (siblings) siblings.push(node.id);
      else this.childIds.set(node.parentId, [node.id]);
    }
    for (const node of tree.nodes) {
      if (node.line === null) continue;
      for (let up = node.parentId; up !== null && !this.leadsToShown.has(up); up = this.byId.get(up)?.parentId ?? null) this.leadsToShown.add(up);
    }
  }

  get solveId(): string {
    return this.tree.solveId;
  }

  /** The first steps' candidates. */
  roots(): ReasoningTreeNode[] {
    return this.childrenOf(null);
  }

  children(node: ReasoningTreeNode): ReasoningTreeNode[] {
    return this.childrenOf(node.id);
  }

  parent(node: ReasoningTreeNode): ReasoningTreeNode | undefined {
    return node.parentId === null ? undefined : this.byId.get(node.parentId);
  }

  node(id: string): ReasoningTreeNode | undefined {
    return this.byId.get(id);
  }

  /** Every node depth first, children in the engine's order, with its depth in the view. */
  walk(): { node: ReasoningTreeNode; level: number }[] {
    const out: { node: ReasoningTreeNode; level: number }[] = [];
    const visit = (nodes: ReasoningTreeNode[], level: number) => {
      for (const node of nodes) {
        out.push({ node, level });
        visit(this.children(node), level + 1);
      }
    };
    visit(this.roots(), 0);
    return out;
  }

  present(node: ReasoningTreeNode, bands: BandThresholds | undefined): NodePresentation {
    const percent = `${(node.confidence * 100).toFixed(1)}%`;
    const band = bands && confidenceBand(node.confidence, bands);
    let look: NodeLook;
    let state: string;
    if (node.status === 'pruned') {
      look = { kind: 'pruned' };
      state = `pruned${node.prunedBy ? ` (${PRUNED_BECAUSE[node.prunedBy]})` : ''}${node.expanded ? ' · re-expanded' : ''}`;
    } else if (node.status === 'flagged') {
      look = { kind: 'flagged' };
      state = `${node.chosen ? 'chosen · ' : ''}flagged: every candidate was below the threshold`;
    } else if (node.status === 'completed') {
      look = { kind: node.chosen ? 'chosen' : 'answer', band };
      state = node.chosen ? 'chosen · end of path' : 'end of path';
    } else {
      look = { kind: node.chosen ? 'chosen' : 'kept', band };
      state = node.chosen ? 'chosen' : 'kept';
    }
    const hasChildren = this.children(node).length > 0;
    const open = node.chosen || this.leadsToShown.has(node.id);
    return {
      label: shorten(`${node.depth + 1}. ${oneLine(node.text) || '(no text)'}`),
      description: `${percent} · ${state}`,
      tooltip: [
        `Step ${node.depth + 1}: ${oneLine(node.text) || '(no text)'}`,
        `Confidence ${percent} · ${state}`,
        `Path score ${node.pathScore.toFixed(3)}`,
        node.line === null ? undefined : `Line ${node.line + 1} of the reasoning document`,
      ]
        .filter(Boolean)
        .join('\n'),
      look,
      contextValue: node.status === 'pruned' ? (node.expanded ? PRUNED_EXPANDED_CONTEXT : PRUNED_CONTEXT) : KEPT_CONTEXT,
      collapsible: hasChildren ? (open ? 'expanded' : 'collapsed') : 'none',
    };
  }

  private childrenOf(id: string | null): ReasoningTreeNode[] {
    return (this.childIds.get(id) ?? []).map((child) => this.byId.get(child)!);
  }
}

function oneLine(text: string): string {
  return onOneLine(text).trim();
}

function shorten(text: string): string {
  return ellipsize(text, LABEL_LENGTH);
}
