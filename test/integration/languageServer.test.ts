import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import {
  CancellationTokenSource,
  DocumentSymbolRequest,
  HoverRequest,
  InlayHintRequest,
  LSPErrorCodes,
  ResponseError,
  type DocumentSymbol,
  type MarkupContent,
} from 'vscode-languageserver-protocol';
import { DidChangeConfigurationNotification, DidCloseTextDocumentNotification } from 'vscode-languageserver-protocol';
import { LOW_CONFIDENCE_CODE, OUTSIDE_TRAINING_RANGE_CODE, solveRequest, type SolveResult } from '../../src/protocol';
import { LanguageServerProcess, LONG_PROBLEM, REPO_ROOT, testSettings } from './helpers/languageServerProcess';

function lineOf(text: string, line: number): string {
  return text.split('\n')[line];
}

describe('language server (real process, embedded model)', function () {
  this.timeout(120_000);
  let server: LanguageServerProcess;

  beforeEach(async () => {
    server = await LanguageServerProcess.start();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('loads the model only on the first solve', async () => {
    // A request round trip proves initialization finished; no model work may have started.
    await server.connection.sendRequest(HoverRequest.type, {
      textDocument: { uri: 'caspo-reasoning:/solve-none/x.caspo' },
      position: { line: 0, character: 0 },
    });
    assert.deepEqual(server.of('status'), []);
    await server.connection.sendRequest(solveRequest, { solveId: '1', problem: '47*38 + 12' });
    assert.deepEqual(
      server.of('status').map((s) => s.state),
      ['loadingModel', 'ready', 'ready'],
    );
    const last = server.of('status').at(-1)!;
    assert.equal(last.model, 'caspo-arith');
    assert.match(last.executionProvider ?? '', /^cpu/);
    assert.ok(last.tokensPerSecond! > 0);
  });

  it('streams steps into the reasoning document and renders each on its own line', async () => {
    const result = await server.connection.sendRequest(solveRequest, { solveId: '7', problem: '47*38 + 12' });
    assert.equal(result.uri, 'caspo-reasoning:/solve-7/47x38-12.caspo');
    assert.deepEqual(
      result.steps.map((s) => s.text),
      ['47 * 38 = 1786', '1786 + 12 = 1798', 'Answer: 1798'],
    );
    assert.equal(result.answer, '1798');
    assert.equal(result.stopReason, 'answer');
    for (const step of result.steps) assert.equal(lineOf(result.text, step.line), step.text);

    const started = server.of('started');
    const steps = server.of('step');
    assert.equal(started.length, 1);
    assert.equal(lineOf(started[0].text, 0), 'Problem: 47*38 + 12');
    assert.deepEqual(
      steps.map((s) => s.step.index),
      [0, 1, 2],
    );
    // Each update holds exactly the steps so far; earlier lines never move.
    for (const update of steps) {
      for (const earlier of steps.slice(0, update.step.index + 1)) assert.equal(lineOf(update.text, earlier.step.line), earlier.step.text);
      assert.equal(update.text.split('\n').length, update.step.line + 2); // the step line and the final newline
    }
    const finished = server.of('finished');
    assert.equal(finished.length, 1);
    assert.equal(finished[0].text, result.text);
    assert.match(result.text.trimEnd().split('\n').at(-1)!, /^Answer 1798 · 3 steps · \d+ tokens in .* path confidence \d+\.\d% \(product of step confidences\)$/);
    const product = result.steps.reduce((p, s) => p * s.confidence, 1);
    assert.ok(Math.abs(result.pathConfidence! - product) < 1e-12);
  });

  it('answers hover, inlay hints and document symbols from its own rendering', async () => {
    await server.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: testSettings({ metric: 'meanEntropy' }) });
    const result = await server.connection.sendRequest(solveRequest, { solveId: 'a', problem: '47*38 + 12' });
    const step = result.steps[1];
    const textDocument = { uri: result.uri };

    const hover = await server.connection.sendRequest(HoverRequest.type, { textDocument, position: { line: step.line, character: 3 } });
    const markdown = (hover!.contents as MarkupContent).value;
    assert.match(markdown, new RegExp(`^\\*\\*Step 2: ${(step.confidence * 100).toFixed(1)}% confidence \\((high|medium|low)\\)\\*\\*`));
    assert.match(
      markdown,
      /Metric: `meanEntropy` \(minus the mean token entropy, in nats\): raw score -?\d+\.\d{4}, (calibrated by the model’s caspo\.json|default mapping \(no calibration in caspo\.json\))\n/,
    );
    assert.match(markdown, /Weakest token: `".*"` at \d+\.\d%/);
    assert.match(markdown, /Top alternatives there: (`".*"` \d+\.\d%(, )?){2,}/);
    const path = (result.steps[0].confidence * result.steps[1].confidence * 100).toFixed(1);
    assert.match(markdown, new RegExp(`Path confidence: ${path}% \\(product of the step confidences of steps 1–2\\)`));
    const headerHover = await server.connection.sendRequest(HoverRequest.type, { textDocument, position: { line: 0, character: 1 } });
    assert.equal(headerHover, null);

    const hints = await server.connection.sendRequest(InlayHintRequest.type, {
      textDocument,
      range: { start: { line: 0, character: 0 }, end: { line: 100, character: 0 } },
    });
    assert.deepEqual(
      hints!.map((h) => [h.position.line, h.position.character, h.label]),
      result.steps.map((s) => [s.line, s.text.length, `${(s.confidence * 100).toFixed(1)}%`]),
    );

    const symbols = (await server.connection.sendRequest(DocumentSymbolRequest.type, { textDocument })) as DocumentSymbol[];
    assert.deepEqual(
      symbols.map((s) => [s.name, s.range.start.line]),
      [
        ['Step 1', result.steps[0].line],
        ['Step 2', result.steps[1].line],
        ['Step 3', result.steps[2].line],
      ],
    );
  });

  it('pushes a Warning for each step below the threshold as steps arrive, and again when the threshold changes', async () => {
    await server.connection.sendNotification(DidChangeConfigurationNotification.type, {
      settings: testSettings({ metric: 'minProb', warningThreshold: 0.99 }),
    });
    // Five operations, one more than the SFT data has: the model is unsure of its first product (54 %, and wrong).
    const result = await server.connection.sendRequest(solveRequest, { solveId: 'w', problem: '247*57+(334+(27 + 990)) + 5 = ?' });
    const weak = result.steps.filter((s) => s.confidence < 0.99);
    assert.ok(weak.length > 0, `expected a step below 99% (minProb): ${result.steps.map((s) => s.confidence).join(', ')}`);
    // As the editor's copy catches up, the warnings grow to exactly the weak steps' lines, and no
    // publication ever names another line (a line the editor did not have yet would drift).
    const weakLines = weak.map((s) => s.line);
    const final = await server.waitFor('diagnostics', (d) => d.uri === result.uri && d.diagnostics.length === weak.length);
    const last = final.diagnostics;
    assert.deepEqual(last.map((d) => d.range.start.line), weakLines);
    for (const published of server.of('diagnostics').filter((d) => d.uri === result.uri)) {
      for (const d of published.diagnostics) assert.ok(weakLines.includes(d.range.start.line), `line ${d.range.start.line} is not a weak step`);
    }
    for (const d of last) {
      assert.equal(d.severity, 2);
      assert.equal(d.code, LOW_CONFIDENCE_CODE);
      assert.match(d.message as string, /^Step \d has low confidence: \d+\.\d% \(minProb score \d\.\d{4}\), below the warning threshold 99\.0%\./);
    }

    const before = server.received.length;
    await server.connection.sendNotification(DidChangeConfigurationNotification.type, {
      settings: testSettings({ metric: 'minProb', warningThreshold: 0 }),
    });
    const cleared = await server.waitFor('diagnostics', (d) => d.uri === result.uri && server.received.length > before && d.diagnostics.length === 0);
    assert.deepEqual(cleared.diagnostics, []);
  });

  it('runs two solves at once without mixing their steps', async () => {
    const [a, b] = await Promise.all([
      server.connection.sendRequest(solveRequest, { solveId: 'p', problem: '47*38 + 12' }),
      server.connection.sendRequest(solveRequest, { solveId: 'q', problem: '7*8*9*10 - 3' }),
    ]);
    assert.deepEqual(
      a.steps.map((s) => s.text),
      ['47 * 38 = 1786', '1786 + 12 = 1798', 'Answer: 1798'],
    );
    assert.deepEqual(
      b.steps.map((s) => s.text),
      ['7 * 8 = 56', '56 * 9 = 504', '504 * 10 = 5040', '5040 - 3 = 5037', 'Answer: 5037'],
    );
    const stepsOf = (uri: string) => server.of('step').filter((s) => s.uri === uri).map((s) => s.step.text);
    assert.deepEqual(stepsOf(a.uri), a.steps.map((s) => s.text));
    assert.deepEqual(stepsOf(b.uri), b.steps.map((s) => s.text));
    // Interleaved: both were decoding at the same time (one model load, shared).
    assert.equal(server.of('status').filter((s) => s.state === 'loadingModel').length, 1);
  });

  it('stops a cancelled solve within a few hundred ms and keeps the steps already streamed', async () => {
    const full = await server.connection.sendRequest(solveRequest, { solveId: 'full', problem: LONG_PROBLEM });
    assert.ok(full.steps.length >= 3, `the long problem should take several steps, got ${full.steps.length}`);
    assert.equal(full.stopReason, 'maxTokens');
    assert.match(full.text, /\nStopped at the token limit \(caspo\.maxTokens\) · /, 'caspo.maxTokens (256) set the limit');

    const source = new CancellationTokenSource();
    const pending = server.connection.sendRequest(solveRequest, { solveId: 'cut', problem: LONG_PROBLEM }, source.token);
    await server.waitFor('step', (s) => s.solveId === 'cut');
    const cancelledAt = performance.now();
    source.cancel();
    const result: SolveResult = await pending;
    const latencyMs = performance.now() - cancelledAt;
    assert.equal(result.stopReason, 'cancelled');
    assert.ok(latencyMs < 1000, `cancel took ${latencyMs.toFixed(0)} ms`);
    assert.ok(result.generatedTokens < full.generatedTokens, `${result.generatedTokens} vs ${full.generatedTokens} tokens`);
    assert.ok(result.steps.length >= 1);
    // The steps kept are the ones streamed, and they are a prefix of the uncancelled solve.
    assert.deepEqual(
      result.steps.map((s) => s.text),
      server.of('step').filter((s) => s.solveId === 'cut').map((s) => s.step.text),
    );
    for (const step of result.steps.slice(0, -1)) assert.equal(step.text, full.steps[step.index].text);
    assert.match(result.text, /Cancelled after \d+ steps?; the steps above were decoded before the cancel/);
  });

  it('stops a solve cancelled before the server dispatched it (its token is born cancelled and fires no event)', async () => {
    await server.connection.sendRequest(solveRequest, { solveId: 'warm', problem: '47*38 + 12' });
    const outcomes = await Promise.all(
      ['c1', 'c2', 'c3'].map((solveId) => {
        const source = new CancellationTokenSource();
        const pending = server.connection.sendRequest(solveRequest, { solveId, problem: LONG_PROBLEM }, source.token);
        source.cancel(); // in the same tick: the cancel is queued with the request
        return pending.then(
          (result) => result.stopReason,
          (error: { code?: number }) => (error.code === LSPErrorCodes.RequestCancelled ? 'cancelled' : `error ${error.code}`),
        );
      }),
    );
    assert.deepEqual(outcomes, ['cancelled', 'cancelled', 'cancelled']);
  });

  it('refuses a problem too long for the context, one far too long before it is even tokenized', async () => {
    const long = Array.from({ length: 300 }, (_, i) => String(i + 10)).join('+'); // about 1,000 tokens
    await assert.rejects(
      server.connection.sendRequest(solveRequest, { solveId: 'long', problem: long }),
      /The problem is too long for caspo-arith: its prompt is \d+ tokens and the model's context holds 512 in all/,
    );
    await assert.rejects(
      server.connection.sendRequest(solveRequest, { solveId: 'huge', problem: '1+'.repeat(500_000) + '1' }),
      /The problem is 1000001 characters, too long for caspo-arith, whose context holds 512 tokens in all/,
    );
  });

  it('shows a step the token limit cut off as such, and takes no answer from it', async () => {
    await server.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: testSettings({ strategy: 'greedy', maxTokens: 41 }) });
    const result = await server.connection.sendRequest(solveRequest, { solveId: 'cut-off', problem: '47*38 + 12' });
    await server.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: testSettings() });
    assert.deepEqual(result.steps.map((s) => s.text), ['47 * 38 = 1786', '1786 + 12 = 1798', 'Answer: 1']); // of "Answer: 1798"
    assert.equal(result.stopReason, 'maxTokens');
    assert.equal(result.answer, null);
    const textDocument = { uri: result.uri };
    const last = result.steps[2];
    const hover = await server.connection.sendRequest(HoverRequest.type, { textDocument, position: { line: last.line, character: 1 } });
    assert.match((hover!.contents as MarkupContent).value, /\n- Cut off: decoding stopped inside this step \(the token limit or a cancel\)/);
    const hints = await server.connection.sendRequest(InlayHintRequest.type, { textDocument, range: { start: { line: 0, character: 0 }, end: { line: 100, character: 0 } } });
    assert.deepEqual(
      hints!.map((h) => String(h.label).endsWith(' · cut off')),
      [false, false, true],
    );
  });

  it("says when the model's context, not caspo.maxTokens, ended the solve", async () => {
    // About 320 prompt tokens: the 512-token context leaves fewer than caspo.maxTokens (256) for the solution.
    const longer = Array.from({ length: 100 }, (_, i) => String((i % 90) + 10)).join('+');
    const result = await server.connection.sendRequest(solveRequest, { solveId: 'context', problem: longer });
    assert.equal(result.stopReason, 'maxTokens');
    assert.match(result.text, /\nStopped with the model's context full \(512 tokens, prompt and solution together\): shorten the problem · /);
  });

  it('answers a bad model path with an error that says what to do, and keeps serving', async () => {
    const missing = join(REPO_ROOT, 'no-such-model');
    await server.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: testSettings({ modelDir: missing }) });
    await assert.rejects(
      server.connection.sendRequest(solveRequest, { solveId: 'bad', problem: '1+1' }),
      (error: ResponseError<unknown>) => {
        assert.equal(error.code, LSPErrorCodes.RequestFailed);
        assert.ok(error.message.includes(missing), error.message);
        assert.match(error.message, /does not exist/);
        assert.match(error.message, /Change caspo\.modelPath, or clear it to use the embedded model\./);
        assert.deepEqual(error.data, { setting: 'caspo.modelPath' }, 'the data names the setting, for the client to offer it');
        return true;
      },
    );
    assert.equal(server.of('status').at(-1)!.state, 'error');
    assert.equal(server.of('started').length, 0, 'no document is opened for a solve that never started');

    await server.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: testSettings() });
    const result = await server.connection.sendRequest(solveRequest, { solveId: 'good', problem: '47*38 + 12' });
    assert.equal(result.answer, '1798');
  });

  it("answers a problem outside the model's domain with what the model solves and what to do, and keeps serving", async () => {
    await assert.rejects(
      server.connection.sendRequest(solveRequest, { solveId: 'france', problem: 'What is the capital of France?' }),
      (error: ResponseError<unknown>) => {
        assert.equal(error.code, LSPErrorCodes.RequestFailed);
        assert.match(error.message, /^caspo-arith is an arithmetic model: it solves expressions of whole numbers .*; this problem has no such expression\./);
        assert.match(error.message, /Rewrite the problem, or set caspo\.modelPath to a general-purpose model/);
        assert.deepEqual(error.data, { setting: 'caspo.modelPath' });
        return true;
      },
    );
    // Refused for its form only: the error suggests the problem as the model reads it.
    await assert.rejects(
      server.connection.sendRequest(solveRequest, { solveId: 'simplify', problem: 'Simplify 47*38 + 12' }),
      (error: ResponseError<unknown>) => {
        assert.match(error.message, /never start with "Simplify".*Rewrite the problem \(as "47 \* 38 \+ 12"\), or set caspo\.modelPath/);
        assert.deepEqual(error.data, { setting: 'caspo.modelPath', suggestion: '47 * 38 + 12' });
        return true;
      },
    );
    assert.equal(server.of('started').filter((s) => s.solveId === 'france').length, 0, 'no document is opened for a refused problem');
    const result = await server.connection.sendRequest(solveRequest, { solveId: 'after-france', problem: '47*38 + 12' });
    assert.equal(result.answer, '1798');
  });

  it('solves a problem outside the training range with a caution line above the steps and a Warning on it', async () => {
    const result = await server.connection.sendRequest(solveRequest, { solveId: 'big', problem: '100*100' });
    const lines = result.text.split('\n');
    assert.match(lines[2], /^Caution: outside caspo-arith's training range: "100 \* 100" has both factors above 99 .*Expect confident mistakes\.$/);
    assert.equal(lines[3], '');
    assert.deepEqual(result.steps.map((s) => lines[s.line]), result.steps.map((s) => s.text));
    assert.equal(result.steps[0].line, 4);
    const published = await server.waitFor('diagnostics', (d) => d.uri === result.uri && d.diagnostics.some((x) => x.code === OUTSIDE_TRAINING_RANGE_CODE));
    const caution = published.diagnostics.find((x) => x.code === OUTSIDE_TRAINING_RANGE_CODE)!;
    assert.equal(caution.range.start.line, 2);
    assert.equal(caution.message, `The problem is ${lines[2].slice('Caution: '.length)}`);

    // Closing the document takes its warnings out of the Problems panel.
    const before = server.received.length;
    await server.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri: result.uri } });
    const cleared = await server.waitFor('diagnostics', (d) => d.uri === result.uri && server.received.length > before && d.diagnostics.length === 0);
    assert.deepEqual(cleared.diagnostics, []);
  });

  it('reloads the model when the execution provider setting changes', async () => {
    await server.connection.sendRequest(solveRequest, { solveId: 'r1', problem: '47*38 + 12' });
    await server.connection.sendRequest(solveRequest, { solveId: 'r2', problem: '47*38 + 12' });
    assert.equal(server.of('status').filter((s) => s.state === 'loadingModel').length, 1);
    await server.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: testSettings({ executionProvider: 'auto' }) });
    const result = await server.connection.sendRequest(solveRequest, { solveId: 'r3', problem: '47*38 + 12' });
    assert.equal(result.answer, '1798');
    assert.equal(server.of('status').filter((s) => s.state === 'loadingModel').length, 2);
  });

  it('rejects a reused solve id and a blank problem with InvalidParams', async () => {
    await server.connection.sendRequest(solveRequest, { solveId: 'once', problem: '1+2' });
    await assert.rejects(server.connection.sendRequest(solveRequest, { solveId: 'once', problem: '1+2' }), /already used/);
    await assert.rejects(server.connection.sendRequest(solveRequest, { solveId: 'blank', problem: '   ' }), /no problem to solve/);
    await assert.rejects(server.connection.sendRequest(solveRequest, { solveId: 'a/b', problem: '1+2' }), /solveId must match/);
  });
});
