import type { CatSettings as CatSettingsSetting, SolveResult } from '../../../src/protocol';
import { cat, type CatSettings } from '../decoding/cat';
import { DEFAULT_WARMUP_STEPS } from '../decoding/threshold';
import { SolveSearch } from '../host/solveSearch';
import type { TreeNode } from '../trace/tree';
import { parseAnswer } from '../trace/types';
import { announceStep, finishSolve, type PreparedSolve } from './solveLifecycle';
import { branchingOf, stepsFromNode, type StepContext } from './treeSteps';

/**
 * caspo.strategy "cat": CaT's tree search. The document shows the chosen path; while the search
 * runs, a step is shown as soon as every path the search may still choose goes through it (so no
 * shown line ever changes) — checked when a round ends, since before that a candidate's siblings may
 * not be in the tree yet — and the rest of the chosen path when the search ends. The tree is kept
 * for the tree view and for re-expanding pruned branches; the client hears when it changes.
 */
export async function decodeWithCat(solve: PreparedSolve): Promise<SolveResult> {
  const { document, settings, loaded, services } = solve;
  const context = stepContext(solve);
  const search = new SolveSearch(loaded, context);
  services.registry.addSearch(document.solveId, search);
  const counted = new Set<string>();
  const treeChanged = () => services.notify.treeChanged({ solveId: document.solveId, uri: document.uri });

  const result = await cat(
    loaded.model,
    {
      promptIds: solve.promptIds,
      maxNewTokens: solve.maxNewTokens,
      calibration: loaded.calibration,
      metric: solve.metric,
      stepDelimiter: settings.stepDelimiter,
      signal: solve.signal,
      onNode: (node) => {
        search.saw(node);
        if (!counted.has(node.id)) {
          counted.add(node.id);
          solve.generatedTokens += node.tokenIds.length;
        }
        refreshBranchings(solve, search);
        treeChanged();
      },
      onRound: () => showPath(solve, search, context, search.settledPath()),
    },
    engineSettings(settings.cat),
  );
  search.adopt(result.tree);
  // A cancelled solve keeps the steps already shown (the rest of its best path was not settled).
  const cancelled = result.stopReason === 'cancelled';
  if (!cancelled) showPath(solve, search, context, result.pathNodeIds);
  refreshBranchings(solve, search);
  const nodes = search.nodes();
  const summary = finishSolve(solve, {
    stopReason: result.stopReason,
    answer: cancelled ? parseAnswer(document.steps.map((step) => step.text).join('\n')) : result.answer,
    generatedTokens: result.stats.generatedTokens,
    wallMs: result.stats.wallMs,
    search: { candidates: nodes.length, pruned: nodes.filter((node) => node.status === 'pruned').length },
  });
  treeChanged();
  return summary;
}

/** The settings as the engine takes them (top-p and the seed stay the engine's). */
export function engineSettings(setting: CatSettingsSetting): Partial<CatSettings> {
  return {
    branches: setting.branches,
    width: setting.width,
    budget: setting.budget,
    temperature: setting.temperature,
    greedyFirst: setting.firstCandidate === 'greedy',
    branchBelow: setting.branchBelow,
    threshold:
      setting.thresholdPercentile === null
        ? { kind: 'fixed', value: setting.threshold }
        : { kind: 'percentile', percentile: setting.thresholdPercentile, warmupSteps: DEFAULT_WARMUP_STEPS },
  };
}

export function stepContext(solve: Pick<PreparedSolve, 'metric' | 'calibrated' | 'loaded'>): StepContext {
  const { tokenizer } = solve.loaded.model;
  return { metric: solve.metric, calibrated: solve.calibrated, tokenText: (id, contextIds) => tokenizer.tokenText(id, contextIds) };
}

/** Appends the nodes of `path` beyond those shown; the shown ones must be its beginning. */
function showPath(solve: PreparedSolve, search: SolveSearch, context: StepContext, path: readonly string[]): void {
  const shown = search.shownPath;
  for (let i = 0; i < Math.min(shown.length, path.length); i++) {
    if (shown[i] !== path[i]) throw new Error(`CaT chose a path through node ${path[i]}, but node ${shown[i]} was already shown at depth ${i + 1}`);
  }
  for (const id of path.slice(shown.length)) {
    const node = search.node(id) as Readonly<TreeNode>;
    shown.push(id);
    // CaT branched before the node's first step; a node that closed several steps shows each on its own line.
    stepsFromNode(node, solve.document.steps.length, context).forEach((step, i) => {
      solve.document.addStep(step, i === 0 ? branchingOf(search, id) : undefined);
      announceStep(solve, step.index);
    });
  }
}

/** Siblings may be pruned after a step is shown (later in its round, or by the budget). */
function refreshBranchings(solve: PreparedSolve, search: SolveSearch): void {
  solve.document.shownSteps().forEach((shown, index) => {
    if (!shown.alternative && shown.branching) solve.document.setBranching(index, branchingOf(search, shown.branching.nodeId));
  });
}
