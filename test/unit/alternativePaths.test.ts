import { strict as assert } from 'node:assert';
import { lowConfidenceDiagnostics } from '../../language-server/src/handlers/diagnostics';
import { stepHoverMarkdown } from '../../language-server/src/handlers/hover';
import { FIRST_STEP_LINE, summaryLine, type AlternativePath } from '../../language-server/src/trace/reasoningDocument';
import { documentWith, step } from './helpers/reasoningFixtures';

const BANDS = { high: 0.8, medium: 0.5 };
const PRUNED = [
  { nodeId: '0.0', text: '1786 + 13 = 1799', confidence: 0.412 },
  { nodeId: '0.2', text: '1786 - 12 = 1774', confidence: 0.05 },
];

/** "47*38 + 12" solved in 3 steps; CaT pruned two siblings of step 2 ("0.1"). */
function finishedDocument() {
  const document = documentWith([]);
  document.addStep(step(0, '47 * 38 = 1786', 0.99), { nodeId: '0', prunedSiblings: [] });
  document.addStep(step(1, '1786 + 12 = 1798', 0.9), { nodeId: '0.1', prunedSiblings: PRUNED });
  document.addStep(step(2, 'Answer: 1798', 0.98), { nodeId: '0.1.0', prunedSiblings: [] });
  document.finish({ stopReason: 'answer', answer: '1798', generatedTokens: 45, wallMs: 220, search: { candidates: 5, pruned: 2 } });
  return document;
}

function alternative(): AlternativePath {
  return {
    nodeId: '0.0',
    fromStep: 1,
    prunedConfidence: 0.412,
    steps: [
      { step: step(1, '1786 + 13 = 1799', 0.412), branching: { nodeId: '0.0', prunedSiblings: [PRUNED[1]] } },
      { step: step(2, 'Answer: 1799', 0.97), branching: { nodeId: '0.0.0', prunedSiblings: [] } },
    ],
    answer: '1799',
    stopReason: 'answer',
  };
}

describe('re-expanded branches in the reasoning document', () => {
  it('appends the branch below the summary under a heading, and never moves a line above it', () => {
    const document = finishedDocument();
    const before = document.text();
    const summary = document.addAlternative(alternative());
    assert.ok(document.text().startsWith(before), 'the chosen path and its summary stay where they were');
    const lines = document.lines();
    const summaryLine = FIRST_STEP_LINE + 4;
    assert.match(lines[summaryLine], /^Answer 1798 · 3 steps · 45 tokens in 0\.22 s \(205 tokens\/s\) · CaT: 5 distinct candidate steps, 2 pruned · path confidence/);
    assert.deepEqual(lines.slice(summaryLine + 1), [
      '',
      'Alternative from step 2 (pruned at 41.2%): Answer 1799 · 2 steps · path confidence 39.6%',
      '1786 + 13 = 1799',
      'Answer: 1799',
    ]);
    assert.equal(summary.headingLine, summaryLine + 2);
    assert.deepEqual(
      summary.steps.map((s) => [s.index, s.line, s.text, s.alternative]),
      [
        [1, summaryLine + 3, '1786 + 13 = 1799', '0.0'],
        [2, summaryLine + 4, 'Answer: 1799', '0.0'],
      ],
    );
    // Path confidence multiplies the shared first step with the branch's own: 0.99 × 0.412 × 0.97.
    assert.ok(Math.abs(summary.pathConfidence - 0.99 * 0.412 * 0.97) < 1e-12);
    assert.equal(summary.answer, '1799');
  });

  it('maps every step line back to its step, branch lines included, and lists them all for the gutter', () => {
    const document = finishedDocument();
    const { steps } = document.addAlternative(alternative());
    assert.equal(document.stepAtLine(steps[0].line)?.text, '1786 + 13 = 1799');
    assert.equal(document.shownStepAtLine(steps[1].line)?.alternative?.nodeId, '0.0');
    assert.equal(document.stepAtLine(steps[0].line - 1), undefined, 'the heading is not a step');
    const lines = document.lines();
    for (const shown of document.shownSummaries()) assert.equal(lines[shown.line], shown.text, `line ${shown.line}`);
    assert.deepEqual(
      document.shownSummaries().map((s) => s.line),
      [FIRST_STEP_LINE, FIRST_STEP_LINE + 1, FIRST_STEP_LINE + 2, steps[0].line, steps[1].line],
    );
    assert.deepEqual(
      document.summaries().map((s) => s.text),
      ['47 * 38 = 1786', '1786 + 12 = 1798', 'Answer: 1798'],
      "a solve's result lists the chosen path only",
    );
    assert.equal(document.alternativeFrom('0.0')?.answer, '1799');
    assert.equal(document.alternativeFrom('0.2'), undefined);
  });

  it('refuses a branch while the solve runs, twice, out of order, or empty', () => {
    const running = documentWith([step(0, 'a', 0.9)]);
    assert.throws(() => running.addAlternative({ ...alternative(), fromStep: 0, steps: [{ step: step(0, 'b', 0.1) }] }), /still running/);
    const document = finishedDocument();
    document.addAlternative(alternative());
    assert.throws(() => document.addAlternative(alternative()), /already shown/);
    assert.throws(() => document.addAlternative({ ...alternative(), nodeId: 'x', steps: [] }), /no steps/);
    assert.throws(() => document.addAlternative({ ...alternative(), nodeId: 'y', fromStep: 0 }), /expected step 0, got 1/);
    assert.throws(() => document.addAlternative({ ...alternative(), nodeId: 'z', fromStep: 7 }), /does not have/);
  });

  it('says how a branch ended in its heading', () => {
    const document = finishedDocument();
    document.addAlternative({ ...alternative(), answer: null, stopReason: 'maxTokens' });
    assert.match(document.lines().at(-3)!, /^Alternative from step 2 \(pruned at 41\.2%\): stopped at the token limit · 2 steps · path confidence/);
  });

  it('hovers tell how many siblings CaT pruned at a step, and which branch a line is on', () => {
    const document = finishedDocument();
    const chosen = stepHoverMarkdown(document, document.steps[1], BANDS);
    assert.match(chosen, /^\*\*Step 2: 90\.0% confidence \(high\)\*\*/);
    assert.match(chosen, /\n- CaT pruned 2 sibling candidates here: `"1786 \+ 13 = 1799"` 41\.2%, `"1786 - 12 = 1774"` 5\.0% \(re-expand from the code lens\)$/);
    assert.doesNotMatch(stepHoverMarkdown(document, document.steps[0], BANDS), /pruned/);

    const { steps } = document.addAlternative(alternative());
    const branchStep = document.stepAtLine(steps[0].line)!;
    const markdown = stepHoverMarkdown(document, branchStep, BANDS);
    assert.match(markdown, /^\*\*Step 2 \(alternative from step 2\): 41\.2% confidence \(low\)\*\*/);
    assert.match(markdown, /Path confidence: 40\.8% \(product of the step confidences of steps 1–2 on this branch\)/);
    assert.match(markdown, /CaT pruned 1 sibling candidate here: `"1786 - 12 = 1774"` 5\.0%/);
  });

  it('warns on weak branch steps too, and points to the quick fix where siblings were pruned', () => {
    const document = finishedDocument();
    const { steps } = document.addAlternative(alternative());
    const diagnostics = lowConfidenceDiagnostics(document, 0.95);
    assert.deepEqual(
      diagnostics.map((d) => d.range.start.line),
      [FIRST_STEP_LINE + 1, steps[0].line],
    );
    assert.match(diagnostics[0].message as string, /^Step 2 has low confidence: 90\.0% .* CaT pruned 2 alternatives here: the quick fix re-expands them\.$/);
    assert.match(diagnostics[1].message as string, /^Step 2 \(alternative from step 2\) has low confidence: 41\.2% .* CaT pruned 1 alternative here/);
  });
});

describe('summary line of a CaT solve', () => {
  it('names the search work, and a stop by the step budget', () => {
    const line = summaryLine({ stopReason: 'budget', answer: null, generatedTokens: 300, wallMs: 1500, search: { candidates: 12, pruned: 4 } }, 6, 0.25);
    assert.equal(
      line,
      "Stopped when CaT's step budget (caspo.cat.budget) ran out · 6 steps · 300 tokens in 1.50 s (200 tokens/s) · CaT: 12 distinct candidate steps, 4 pruned · path confidence 25.0% (product of step confidences)",
    );
  });
});
