import { strict as assert } from 'node:assert';
import type { StepContext } from '../../language-server/src/handlers/treeSteps';
import type { LoadedModel } from '../../language-server/src/host/modelHost';
import { SolveSearch } from '../../language-server/src/host/solveSearch';
import type { TreeNode } from '../../language-server/src/trace/tree';

const CONTEXT: StepContext = { metric: 'meanEntropy', calibrated: false, tokenText: String };

function node(id: string, status: TreeNode['status'], extra: Partial<TreeNode> = {}): TreeNode {
  const parts = id.split('.');
  return {
    id,
    parentId: parts.length === 1 ? 'root' : parts.slice(0, -1).join('.'),
    depth: parts.length,
    candidate: Number(parts.at(-1)),
    draws: [Number(parts.at(-1))],
    text: `step ${id}`,
    tokenIds: [1],
    tokens: [],
    confidence: 0.9,
    rawScore: 0,
    status,
    flagged: status === 'flagged',
    pathScore: 0,
    prefixTokenCount: 0,
    stopReason: status === 'completed' ? 'answer' : null,
    origin: 'search',
    ...extra,
  };
}

describe('following a CaT search', () => {
  const search = () => new SolveSearch({} as LoadedModel, CONTEXT);

  it('settles the steps every path the search may still choose goes through', () => {
    const s = search();
    assert.deepEqual(s.settledPath(), []);
    s.saw(node('0', 'kept'));
    assert.deepEqual(s.settledPath(), ['0'], 'one survivor: its step is certain');
    s.saw(node('0.0', 'kept'));
    s.saw(node('0.1', 'kept'));
    s.saw(node('0.2', 'pruned', { prunedBy: 'threshold' }));
    assert.deepEqual(s.settledPath(), ['0'], 'two survivors of step 2: step 2 is open');
    s.saw(node('0.0.0', 'kept'));
    assert.deepEqual(s.settledPath(), ['0'], "0.1's candidates are not in yet");
    const dropped = node('0.1.0', 'pruned', { prunedBy: 'width' });
    s.saw(dropped);
    assert.deepEqual(s.settledPath(), ['0', '0.0', '0.0.0'], 'the other branch died out');
  });

  it('keeps completed paths and budget-stopped ones open, and follows later status changes', () => {
    const s = search();
    s.saw(node('0', 'kept'));
    s.saw(node('0.0', 'completed'));
    const other = node('0.1', 'kept');
    s.saw(other);
    s.saw(node('0.1.0', 'kept'));
    assert.deepEqual(s.settledPath(), ['0'], 'the completed path may still win');
    const budget = node('0.1.0', 'pruned', { prunedBy: 'budget' });
    s.saw(budget);
    assert.deepEqual(s.settledPath(), ['0'], 'a path the budget stopped may be chosen when none completes');
  });

  it('lists the pruned siblings of a node, not the node itself nor kept ones', () => {
    const s = search();
    for (const n of [node('0', 'kept'), node('1', 'pruned', { prunedBy: 'threshold' }), node('2', 'pruned', { prunedBy: 'width' }), node('3', 'kept')]) s.saw(n);
    assert.deepEqual(
      s.prunedSiblings('0').map((n) => n.id),
      ['1', '2'],
    );
    assert.deepEqual(
      s.prunedSiblings('1').map((n) => n.id),
      ['2'],
    );
    assert.deepEqual(s.path('0'), ['0']);
  });

  it('runs queued work one at a time, even after a failure', async () => {
    const s = search();
    const order: string[] = [];
    let release!: () => void;
    const first = s.exclusive(() => new Promise<void>((resolve) => (release = resolve)).then(() => order.push('first')));
    const failing = s.exclusive(async () => {
      order.push('second');
      throw new Error('boom');
    });
    const third = s.exclusive(async () => order.push('third'));
    await Promise.resolve();
    assert.deepEqual(order, []);
    release();
    await first;
    await assert.rejects(failing, /boom/);
    await third;
    assert.deepEqual(order, ['first', 'second', 'third']);
  });

  it('answers a request cancelled while it waits at once, not after the work before it', async () => {
    const s = search();
    const listeners: (() => void)[] = [];
    const token = { isCancellationRequested: false, onCancellationRequested: (listener: () => void) => (listeners.push(listener), { dispose: () => undefined }) };
    let release!: () => void;
    const order: string[] = [];
    const first = s.exclusive(() => new Promise<void>((resolve) => (release = resolve)).then(() => order.push('first')), { token, error: () => new Error('never') });
    await new Promise((resolve) => setImmediate(resolve)); // the first work is running now
    const queued = s.exclusive(async () => order.push('queued ran'), { token, error: () => new Error('cancelled while queued') });
    for (const listener of listeners) listener();
    await assert.rejects(queued, /cancelled while queued/);
    assert.deepEqual(order, [], 'answered before the first work ended');
    release();
    await first; // already running when the cancel came: the work itself answers it (here: it finishes)
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ['first', 'queued ran'], 'the queued work still takes its turn, to see the cancellation');
  });

  it('answers a request cancelled before it was dispatched at once (its token will fire no event)', async () => {
    const s = search();
    let release!: () => void;
    const running = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) };
    const first = s.exclusive(() => new Promise<void>((resolve) => (release = resolve)), { token: running, error: () => new Error('never') });
    await new Promise((resolve) => setImmediate(resolve));
    const cancelled = { isCancellationRequested: true, onCancellationRequested: () => ({ dispose: () => undefined }) };
    let answered = false;
    const queued = s.exclusive(async () => undefined, { token: cancelled, error: () => new Error('cancelled before dispatch') });
    queued.catch(() => (answered = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answered, true, 'answered while the work before it still runs');
    await assert.rejects(queued, /cancelled before dispatch/);
    release();
    await first;
  });
});
