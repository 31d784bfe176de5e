import type { StrategyResult, VoteResult } from '../decoding/strategyResult';
import type { ThresholdRule } from '../decoding/threshold';

/**
 * One line on how a multi-path strategy reached its answer (null for greedy and sample):
 * "cat b=3 w=2 τ=0.5: 12 candidate steps (budget 40), 2 pruned (1 below τ, 1 beyond the width), 0 flagged; confidence-weighted vote: 1798 (99.7%)".
 */
export function describeStrategy(result: StrategyResult): string | null {
  const s = result.settings;
  switch (result.strategy) {
    case 'greedy':
    case 'sample':
      return null;
    case 'sc':
      return `self-consistency@${s.samples} (T=${s.temperature}): ${formatTally(result.vote)}`;
    case 'bok':
      return `best of ${s.samples} sampled solutions (T=${s.temperature}) by likelihood: solution ${result.path.row + 1}`;
    case 'beam':
      return `beam search b=${s.branches} w=${s.width}: ${treeWork(result)}`;
    case 'cat': {
      const flagged = result.tree.nodes.filter((n) => n.flagged).length;
      const vote = result.vote?.answer != null ? `; confidence-weighted vote: ${result.vote.answer} (${share(result.vote)})` : '';
      const drawing = (s.greedyFirst === false ? ', every candidate drawn' : '') + (s.branchBelow != null ? `, branching below ${s.branchBelow}` : '');
      return `cat b=${s.branches} w=${s.width} ${formatThreshold(s.threshold, result.threshold)}${drawing}: ${treeWork(result)}, ${flagged} flagged${vote}`;
    }
  }
}

function treeWork(result: StrategyResult): string {
  const pruned = result.tree.nodes.filter((n) => n.status === 'pruned');
  const by = (reason: string) => pruned.filter((n) => n.prunedBy === reason).length;
  const parts = [
    [by('threshold'), 'below τ'],
    [by('width'), 'beyond the width'],
    [by('budget'), 'out of budget'],
  ]
    .filter(([count]) => (count as number) > 0)
    .map(([count, why]) => `${count} ${why}`);
  return `${result.stats.expandedSteps} candidate steps (budget ${result.settings.budget}), ${pruned.length} pruned${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

function formatThreshold(rule: ThresholdRule | undefined, value: number | null | undefined): string {
  if (rule === undefined) return '';
  if (rule.kind === 'fixed') return `τ=${rule.value}`;
  const reached = value === null || value === undefined ? 'warm-up not finished' : value.toFixed(4);
  return `τ=p${rule.percentile} of a ${rule.warmupSteps}-step warm-up (${reached})`;
}

function formatTally(vote: VoteResult | null): string {
  if (vote === null || vote.tally.length === 0) return 'no solution gave an answer';
  return `answers ${vote.tally.map((t) => `${t.answer} ×${t.paths}`).join(', ')}; majority ${vote.answer}`;
}

function share(vote: VoteResult): string {
  const total = vote.tally.reduce((sum, t) => sum + t.weight, 0);
  const winner = vote.tally.find((t) => t.answer === vote.answer);
  return total > 0 && winner ? `${((100 * winner.weight) / total).toFixed(1)}% of the weight` : 'no weight';
}
