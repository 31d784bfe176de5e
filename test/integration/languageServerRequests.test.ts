import { strict as assert } from 'node:assert';
import {
  CancellationTokenSource,
  ErrorCodes,
  HoverRequest,
  LSPErrorCodes,
  MessageType,
  ResponseError,
  ShutdownRequest,
  WorkDoneProgress,
} from 'vscode-languageserver-protocol';
import { calibrationRequest, expandBranchRequest, reasoningTreeRequest, solveRequest } from '../../src/protocol';
import { DECODES_AT_ONCE } from '../../language-server/src/host/decodeQueue';
import { LanguageServerProcess, LONG_PROBLEM, PRUNING_PROBLEM, testSettings } from './helpers/languageServerProcess';


/** How a solve request ended: its stop reason, or its error code and message. */
const outcomeOf = (pending: Promise<{ stopReason: string }>) =>
  pending.then(
    (result) => result.stopReason,
    (error: ResponseError<unknown>) => `error ${error.code}: ${error.message}`,
  );

describe('language server requests: decode queue, shutdown, malformed params (real process, embedded model)', function () {
  this.timeout(120_000);
  let server: LanguageServerProcess;

  beforeEach(async () => {
    server = await LanguageServerProcess.start();
  });
  afterEach(async () => {
    await server.stop();
  });

  /** Nothing the server logged is an error or carries a stack. */
  const assertCleanLog = () => {
    for (const { type, message } of server.of('log')) {
      assert.notEqual(type, MessageType.Error, message);
      assert.doesNotMatch(message, /\n\s+at /, 'a stack in the log');
    }
  };

  it(`decodes at most ${DECODES_AT_ONCE} solves at once; the others hear how many turns are ahead until they start`, async () => {
    const problems = ['47*38 + 12', '7*8*9*10 - 3', '12*34 + 56', '90 - 4*5', '3*4*5 + 6', '81 + 19*2'];
    const outcomes = await Promise.all(problems.map((problem, i) => outcomeOf(server.connection.sendRequest(solveRequest, { solveId: `q${i}`, problem }))));
    assert.deepEqual(outcomes, problems.map(() => 'answer'));
    // In the order the server sent them, never more documents decoding (started, not finished) than turns.
    let decoding = 0;
    let most = 0;
    for (const { kind } of server.received) {
      if (kind === 'started') most = Math.max(most, ++decoding);
      if (kind === 'finished') decoding--;
    }
    assert.equal(most, DECODES_AT_ONCE);
    problems.forEach((_, i) => {
      const heard = server.of('queued').filter((q) => q.solveId === `q${i}`).map((q) => q.turnsAhead);
      // The i-th waits behind every solve before it but the ones that found a turn free; one ends at a time.
      const expected = Array.from({ length: Math.max(0, i - DECODES_AT_ONCE + 1) }, (_, k) => i - DECODES_AT_ONCE + 1 - k);
      assert.deepEqual(heard, expected, `q${i}`);
    });
  });

  it('answers a solve cancelled while it waits for a turn at once, and never starts it', async () => {
    const sources = Array.from({ length: DECODES_AT_ONCE }, () => new CancellationTokenSource());
    const running = sources.map((source, i) => outcomeOf(server.connection.sendRequest(solveRequest, { solveId: `long${i}`, problem: LONG_PROBLEM }, source.token)));
    const waiting = new CancellationTokenSource();
    const queued = server.connection.sendRequest(solveRequest, { solveId: 'waiting', problem: '47*38 + 12' }, waiting.token);
    const heardFirst = await Promise.race([
      server.waitFor('queued', (q) => q.solveId === 'waiting').then(() => 'queued'),
      server.waitFor('started', (s) => s.solveId === 'waiting').then(() => 'started'),
    ]);
    assert.equal(heardFirst, 'queued');
    waiting.cancel();
    await assert.rejects(queued, (error: ResponseError<unknown>) => {
      assert.equal(error.code, LSPErrorCodes.RequestCancelled);
      assert.match(error.message, /cancelled before decoding started/);
      return true;
    });
    assert.equal(server.of('finished').length, 0, 'answered while the solves before it still decode');
    for (const source of sources) source.cancel();
    await Promise.all(running);
    // Its turn came once the others ended: it gave its place up, so it never decoded.
    await server.connection.sendRequest(solveRequest, { solveId: 'after', problem: '47*38 + 12' });
    assert.deepEqual(server.of('started').map((s) => s.solveId).filter((id) => id === 'waiting'), []);
  });

  it('tells a re-expansion that waits for a turn how many are ahead, then the model it decodes on ($/progress on its workDoneToken)', async () => {
    await server.connection.sendRequest(solveRequest, { solveId: 'pruning', problem: PRUNING_PROBLEM });
    const tree = await server.connection.sendRequest(reasoningTreeRequest, { solveId: 'pruning' });
    const pruned = tree.nodes.find((node) => node.status === 'pruned' && node.text.length > 0);
    assert.ok(pruned, `a pruned node with a step to continue: ${JSON.stringify(tree.nodes.map((node) => [node.id, node.status]))}`);
    const nodeId = pruned.id;
    const running = Array.from({ length: DECODES_AT_ONCE }, (_, i) => server.connection.sendRequest(solveRequest, { solveId: `long${i}`, problem: LONG_PROBLEM }));
    const heard: string[] = [];
    const listening = server.connection.onProgress(WorkDoneProgress.type, 'expand', (value) => {
      heard.push(value.kind === 'end' ? 'end' : `${value.kind}: ${value.message ?? ''}`);
    });
    const expanded = await server.connection.sendRequest(expandBranchRequest, { solveId: 'pruning', nodeId, workDoneToken: 'expand' });
    listening.dispose();
    await Promise.all(running);
    assert.equal(expanded.alternative.nodeId, nodeId);
    // Every turn was taken by a long solve: one of them had to end before the branch decoded.
    assert.deepEqual(heard, ['begin: ', 'report: waiting for 1 earlier solve to end…', 'report: decoding on caspo-arith…', 'end']);
    const firstLongEnded = server.received.findIndex((r) => r.kind === 'finished' && r.params.solveId.startsWith('long'));
    assert.ok(firstLongEnded >= 0 && firstLongEnded < server.received.findIndex((r) => r.kind === 'changed'), 'the branch was added after a long solve ended');
  });

  it('tells a re-expansion that waits for another of the same solve so ($/progress), then the model it decodes on', async () => {
    await server.connection.sendRequest(solveRequest, { solveId: 'pruning', problem: PRUNING_PROBLEM });
    const tree = await server.connection.sendRequest(reasoningTreeRequest, { solveId: 'pruning' });
    const pruned = tree.nodes.filter((node) => node.status === 'pruned' && node.text.length > 0).map((node) => node.id);
    assert.ok(pruned.length >= 2, `two pruned nodes with a step to continue: ${JSON.stringify(tree.nodes.map((node) => [node.id, node.status]))}`);
    const heard = new Map<string, string[]>();
    const listening = pruned.slice(0, 2).map((nodeId) => {
      heard.set(nodeId, []);
      return server.connection.onProgress(WorkDoneProgress.type, nodeId, (value) => {
        heard.get(nodeId)!.push(value.kind === 'end' ? 'end' : `${value.kind}: ${value.message ?? ''}`);
      });
    });
    // Sent together: the second grows the tree after the first has.
    const expanded = await Promise.all(
      pruned.slice(0, 2).map((nodeId) => server.connection.sendRequest(expandBranchRequest, { solveId: 'pruning', nodeId, workDoneToken: nodeId })),
    );
    for (const l of listening) l.dispose();
    assert.deepEqual(expanded.map((e) => e.alternative.nodeId), pruned.slice(0, 2));
    assert.deepEqual(heard.get(pruned[0]), ['begin: ', 'report: decoding on caspo-arith…', 'end']);
    assert.deepEqual(heard.get(pruned[1]), [
      'begin: ',
      'report: waiting for another re-expansion of this solve to end…',
      'report: decoding on caspo-arith…',
      'end',
    ]);
  });

  it('on shutdown stops running and queued solves as cancelled before releasing the model, with nothing in the log', async () => {
    const solveIds = Array.from({ length: DECODES_AT_ONCE + 1 }, (_, i) => `s${i}`);
    const outcomes = solveIds.map((solveId) => outcomeOf(server.connection.sendRequest(solveRequest, { solveId, problem: LONG_PROBLEM })));
    await Promise.all(solveIds.slice(0, DECODES_AT_ONCE).map((solveId) => server.waitFor('step', (s) => s.solveId === solveId)));
    await server.connection.sendRequest(ShutdownRequest.type);
    const ended = await Promise.all(outcomes);
    assert.deepEqual(ended.slice(0, DECODES_AT_ONCE), solveIds.slice(0, DECODES_AT_ONCE).map(() => 'cancelled'), 'the running ones keep their steps');
    assert.match(ended[DECODES_AT_ONCE], new RegExp(`^error ${LSPErrorCodes.RequestCancelled}: The solve was cancelled before decoding started\\.$`));
    assertCleanLog();
    assert.ok(server.of('status').every((s) => s.state !== 'error'));
    await server.stop();
    assert.equal(server.child.exitCode, 0);
  });

  it('answers every request with malformed params InvalidParams naming the field, and keeps serving', async () => {
    const solved = await server.connection.sendRequest(solveRequest, { solveId: 'ok', problem: '47*38 + 12' });
    const textDocument = { uri: solved.uri };
    const range = { start: { line: 0, character: 0 }, end: { line: 9, character: 0 } };
    const cases: [method: string, params: unknown, message: RegExp][] = [
      ['textDocument/hover', { position: { line: 0, character: 0 } }, /^textDocument\/hover: textDocument\.uri must be a string, got undefined$/],
      ['textDocument/hover', { textDocument }, /^textDocument\/hover: position\.line must be a non-negative integer, got undefined$/],
      ['textDocument/hover', { textDocument, position: { line: 2, character: '1' } }, /position\.character must be a non-negative integer, got "1"$/],
      ['textDocument/inlayHint', { textDocument, range: { start: range.start } }, /^textDocument\/inlayHint: range\.end\.line must be a non-negative integer, got undefined$/],
      ['textDocument/documentSymbol', { textDocument: { uri: 7 } }, /^textDocument\/documentSymbol: textDocument\.uri must be a string, got 7$/],
      ['textDocument/codeLens', {}, /^textDocument\/codeLens: textDocument\.uri must be a string, got undefined$/],
      ['textDocument/codeAction', { textDocument, range }, /^textDocument\/codeAction: context\.diagnostics must be an array, got undefined$/],
      ['textDocument/codeAction', { textDocument, range, context: { diagnostics: [{ message: 'x' }] } }, /context\.diagnostics\[0\]\.range\.start\.line must be a non-negative integer/],
      [solveRequest.method, { solveId: 'n', problem: 42 }, /^caspo\/solve: problem must be a string, got 42$/],
      [solveRequest.method, { problem: '1+1' }, /^caspo\/solve: solveId must match .*, got undefined$/],
      [expandBranchRequest.method, { nodeId: '0' }, /^caspo\/expandBranch: solveId must be a string, got undefined$/],
      [expandBranchRequest.method, { solveId: 'ok', nodeId: 3 }, /^caspo\/expandBranch: nodeId must be a string, got 3$/],
      [expandBranchRequest.method, { solveId: 'ok', nodeId: '0', workDoneToken: [] }, /^caspo\/expandBranch: workDoneToken must be a string or an integer when set, got \[\]$/],
      [reasoningTreeRequest.method, { solveId: null }, /^caspo\/reasoningTree: solveId must be a string, got null$/],
      [calibrationRequest.method, { problems: 1 }, /^caspo\/calibration: problemsFile must be an absolute path, got undefined$/],
      [calibrationRequest.method, { problemsFile: '/p.jsonl', problems: 1, recompute: 'yes' }, /^caspo\/calibration: recompute must be a boolean when set, got "yes"$/],
      [calibrationRequest.method, { problemsFile: '/p.jsonl', problems: 1, workDoneToken: {} }, /^caspo\/calibration: workDoneToken must be a string or an integer when set, got \{\}$/],
    ];
    for (const [method, params, message] of cases) {
      await assert.rejects(server.connection.sendRequest(method, params), (error: ResponseError<unknown>) => {
        assert.equal(error.code, ErrorCodes.InvalidParams, `${method} ${JSON.stringify(params)}: ${error.message}`);
        assert.match(error.message, message);
        return true;
      });
    }
    assertCleanLog();
    const hover = await server.connection.sendRequest(HoverRequest.type, { textDocument, position: { line: solved.steps[0].line, character: 0 } });
    assert.ok(hover, 'hovers still work');
    const again = await server.connection.sendRequest(solveRequest, { solveId: 'again', problem: '47*38 + 12' });
    assert.equal(again.answer, '1798');
  });

  it('refuses settings it cannot use at initialize with InvalidParams naming the setting', async () => {
    await assert.rejects(LanguageServerProcess.start(testSettings({ cpuThreads: -1 })), (error: ResponseError<unknown>) => {
      assert.equal(error.code, ErrorCodes.InvalidParams);
      assert.match(error.message, /^caspo\.cpuThreads must be an integer from 0 \(automatic\) to 64, got -1\. Fix it in Settings\.$/);
      return true;
    });
  });
});
