import { childId, ReasoningTree, type TreeNode, type TreeSettings } from '../trace/tree';
import type { GeneratedRow } from './generate';
import type { GeneratedStep } from './rowDecoder';
import type { ConfidenceCalibration } from './stepConfidence';
import { makeNode } from './treeNodes';

/** A row's tokens from one step boundary to the next: what a tree node holds. */
export interface RowSegment {
  /** First token index (inclusive) and end (exclusive). */
  start: number;
  end: number;
  /** Steps whose last token is this segment's last (usually one). */
  steps: GeneratedStep[];
}

/**
 * Cuts a decoded row where a tree search would have branched: after every token that closes a step,
 * and at the row's end (tokens after the last step, such as a lone EOS, form a node without a step).
 */
export function rowSegments(row: Pick<GeneratedRow, 'tokens' | 'steps'>): RowSegment[] {
  const closedAt = new Map<number, GeneratedStep[]>();
  for (const step of row.steps) {
    if (step.tokenIndices.length === 0) continue;
    const last = Math.max(...step.tokenIndices);
    const list = closedAt.get(last);
    if (list) list.push(step);
    else closedAt.set(last, [step]);
  }
  const segments: RowSegment[] = [];
  let start = 0;
  for (let i = 0; i < row.tokens.length; i++) {
    if (closedAt.has(i) || i === row.tokens.length - 1) {
      segments.push({ start, end: i + 1, steps: closedAt.get(i) ?? [] });
      start = i + 1;
    }
  }
  return segments;
}

/**
 * The tree of independently decoded rows (greedy, sampling, sc, bok): each row is a path from the
 * root; rows that decoded the same step after the same prefix share its node (row r's own nodes
 * get id suffix r, `draws` lists every row through a node). Each row's last node is 'completed'.
 */
export function treeFromRows(
  rows: readonly GeneratedRow[],
  settings: TreeSettings,
  calibration: ConfidenceCalibration,
): { tree: ReasoningTree; pathNodeIds: string[][] } {
  const tree = ReasoningTree.withRoot(settings);
  const pathNodeIds = rows.map((row, r) => {
    let parent: TreeNode = tree.root;
    const ids: string[] = [];
    const segments = rowSegments(row);
    segments.forEach((segment, i) => {
      const tokens = row.tokens.slice(segment.start, segment.end);
      const twin = tree
        .children(parent.id)
        .find((child) => child.tokenIds.length === tokens.length && child.tokenIds.every((id, j) => id === tokens[j].id));
      if (twin) {
        twin.draws.push(r);
        parent = twin;
      } else {
        const last = i === segments.length - 1;
        parent = tree.add(
          makeNode(
            { id: childId(parent.id, r), parent, draws: [r], tokens, closedSteps: segment.steps, stopReason: last ? row.stopReason : null, origin: 'search' },
            settings,
            calibration,
          ),
        );
      }
      ids.push(parent.id);
    });
    return ids;
  });
  return { tree, pathNodeIds };
}
