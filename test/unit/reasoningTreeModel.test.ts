import { strict as assert } from 'node:assert';
import { ellipsize, onOneLine, type ReasoningTreeNode, type ReasoningTreeResult } from '../../src/protocol';
import { KEPT_CONTEXT, PRUNED_CONTEXT, PRUNED_EXPANDED_CONTEXT, ReasoningTreeModel } from '../../src/reasoningTreeModel';

const BANDS = { high: 0.8, medium: 0.5 };

function node(id: string, status: ReasoningTreeNode['status'], confidence: number, extra: Partial<ReasoningTreeNode> = {}): ReasoningTreeNode {
  const parts = id.split('.');
  return {
    id,
    parentId: parts.length === 1 ? null : parts.slice(0, -1).join('.'),
    depth: parts.length - 1,
    text: `step ${id}`,
    confidence,
    status,
    pathScore: Math.log(confidence),
    chosen: false,
    line: null,
    expanded: false,
    ...extra,
  };
}

/** 174 * 570 + … as an earlier embedded model's CaT solved it: two siblings pruned at step 3, one at step 4. */
const TREE: ReasoningTreeResult = {
  solveId: '4',
  uri: 'caspo-reasoning:/solve-4/x.caspo',
  strategy: 'cat',
  finished: true,
  nodes: [
    node('0', 'kept', 0.998, { chosen: true, line: 3 }),
    node('0.0', 'kept', 0.998, { chosen: true, line: 4 }),
    node('0.0.0', 'pruned', 0.00001, { prunedBy: 'threshold', expanded: true, line: 11 }),
    node('0.0.1', 'kept', 0.713, { chosen: true, line: 5 }),
    node('0.0.2', 'pruned', 0.001, { prunedBy: 'width' }),
    node('0.0.1.0', 'flagged', 0.047, { chosen: true, line: 6 }),
    node('0.0.1.1', 'pruned', 0.0002, { prunedBy: 'threshold', text: 'a\nvery long step text that goes on and on and on until the label must be cut short' }),
    node('0.0.1.0.0', 'completed', 0.998, { chosen: true, line: 7 }),
    node('0.0.0.0', 'kept', 0.993, { line: 12 }),
    node('0.0.0.0.0', 'completed', 0.998, { line: 13 }),
  ],
};

describe('reasoning tree view model', () => {
  const model = new ReasoningTreeModel(TREE);

  it('links parents and children in the engine order, depth first', () => {
    assert.deepEqual(
      model.roots().map((n) => n.id),
      ['0'],
    );
    assert.deepEqual(
      model.children(model.node('0.0')!).map((n) => n.id),
      ['0.0.0', '0.0.1', '0.0.2'],
    );
    assert.equal(model.parent(model.node('0.0.1.1')!)?.id, '0.0.1');
    assert.deepEqual(
      model.walk().map(({ node, level }) => `${level}:${node.id}`),
      ['0:0', '1:0.0', '2:0.0.0', '3:0.0.0.0', '4:0.0.0.0.0', '2:0.0.1', '3:0.0.1.0', '4:0.0.1.0.0', '3:0.0.1.1', '2:0.0.2'],
    );
  });

  it('shows each node with its confidence and what happened to it; pruned ones distinctly, with the re-expand context', () => {
    const chosen = model.present(model.node('0.0.1')!, BANDS);
    assert.deepEqual(chosen.look, { kind: 'chosen', band: 'medium' });
    assert.equal(chosen.label, '3. step 0.0.1');
    assert.equal(chosen.description, '71.3% · chosen');
    assert.equal(chosen.contextValue, KEPT_CONTEXT);

    const pruned = model.present(model.node('0.0.2')!, BANDS);
    assert.deepEqual(pruned.look, { kind: 'pruned' });
    assert.equal(pruned.description, '0.1% · pruned (beyond the width)');
    assert.equal(pruned.contextValue, PRUNED_CONTEXT);

    const reExpanded = model.present(model.node('0.0.0')!, BANDS);
    assert.equal(reExpanded.description, '0.0% · pruned (below the threshold) · re-expanded');
    assert.equal(reExpanded.contextValue, PRUNED_EXPANDED_CONTEXT);

    const flagged = model.present(model.node('0.0.1.0')!, BANDS);
    assert.deepEqual(flagged.look, { kind: 'flagged' });
    assert.equal(flagged.description, '4.7% · chosen · flagged: every candidate was below the threshold');

    assert.deepEqual(model.present(model.node('0.0.1.0.0')!, BANDS).look, { kind: 'chosen', band: 'high' });
    assert.deepEqual(model.present(model.node('0.0.0.0.0')!, BANDS).look, { kind: 'answer', band: 'high' });
    assert.deepEqual(model.present(model.node('0.0.0.0')!, undefined).look, { kind: 'kept', band: undefined });
  });

  it('puts long or multi-line steps on one short label; the tooltip says where the node is shown', () => {
    const shown = model.present(model.node('0.0.1.1')!, BANDS);
    assert.equal(shown.label.length, 60);
    assert.match(shown.label, /^4\. a ⏎ very long step text .*…$/);
    assert.match(model.present(model.node('0.0.1')!, BANDS).tooltip, /Line 6 of the reasoning document$/);
  });

  it('never cuts a label between the halves of a character, and puts a lone carriage return on the line too', () => {
    const odd = new ReasoningTreeModel({ ...model.tree, nodes: [node('0', 'kept', 0.5, { text: `${'x'.repeat(55)}😀😀 tail`, line: 4 }), node('1', 'kept', 0.5, { text: 'foo\rbar', line: 5 })] });
    const label = odd.present(odd.node('0')!, BANDS).label;
    assert.equal(label, `1. ${'x'.repeat(55)}…`, 'the emoji is dropped whole');
    assert.equal(odd.present(odd.node('1')!, BANDS).label, '1. foo ⏎ bar');
  });

  it('opens the chosen path and the paths to re-expanded branches; the rest start closed', () => {
    assert.equal(model.present(model.node('0.0')!, BANDS).collapsible, 'expanded');
    assert.equal(model.present(model.node('0.0.0')!, BANDS).collapsible, 'expanded', 'leads to shown lines');
    assert.equal(model.present(model.node('0.0.2')!, BANDS).collapsible, 'none');
    const unshown = new ReasoningTreeModel({ ...TREE, nodes: TREE.nodes.map((n) => ({ ...n, line: n.id.startsWith('0.0.0') ? null : n.line })) });
    assert.equal(unshown.present(unshown.node('0.0.0')!, BANDS).collapsible, 'collapsed');
  });
});

describe('one-line text (src/protocol/text.ts)', () => {
  it('cuts at a whole character and shows every kind of line break', () => {
    assert.equal(ellipsize('abcdef', 6), 'abcdef');
    assert.equal(ellipsize('abcdefg', 6), 'abcde…');
    assert.equal(ellipsize('abcd😀fg', 6), 'abcd…', 'not half of the emoji');
    assert.equal(onOneLine('a\r\nb\rc\nd'), 'a ⏎ b ⏎ c ⏎ d');
  });
});
