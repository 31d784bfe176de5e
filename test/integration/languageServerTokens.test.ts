import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { DidChangeConfigurationNotification, HoverRequest, type MarkupContent } from 'vscode-languageserver-protocol';
import { onOneLine, reasoningTreeRequest, solveRequest, type SolveResult } from '../../src/protocol';
import { defaultCatSettings, LanguageServerProcess, REPO_ROOT, testSettings } from './helpers/languageServerProcess';

/**
 * The random-weight model with the real Qwen3 tokenizer (scripts/make-fixtures.mjs, which `npm test` runs
 * first): byte-level BPE over 151,936 tokens, so its text holds characters split across tokens, bytes that
 * form no character, and tokens that hold a one-letter step delimiter twice.
 */
const QWEN3_MODEL_DIR = join(REPO_ROOT, 'test', 'fixtures', 'generated', 'qwen3-gqa');

/**
 * Greedy decoding of this problem writes, in step 1, a token that is a lone byte of no character (the stream
 * holds it back, then shows it as U+FFFD with the next token) and then the step's weakest token, " elemental".
 */
const HELD_BYTE_PROBLEM = 'What is 137+10?';

/** With "e" as the step delimiter, tokens of this problem's text close several steps at once ("…combin|R|duc…"). */
const SEVERAL_STEPS_PROBLEM = 'What is 2+2?';

const lineOf = (text: string, line: number) => text.split('\n')[line];

describe('language server: text split across tokens (real process, random model with the Qwen3 tokenizer)', function () {
  this.timeout(120_000);
  let server: LanguageServerProcess;

  beforeEach(async () => {
    server = await LanguageServerProcess.start(testSettings({ modelDir: QWEN3_MODEL_DIR, strategy: 'greedy', maxTokens: 64 }));
  });
  afterEach(async () => {
    await server.stop();
  });

  async function hoverLines(result: SolveResult, line: number): Promise<string[]> {
    const hover = await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri: result.uri }, position: { line, character: 0 } });
    assert.ok(hover, `no hover on line ${line}`);
    return (hover.contents as MarkupContent).value.split('\n');
  }

  it('names the weakest token as the alternatives beside it do, also where the stream held a byte back before it', async () => {
    const result = await server.connection.sendRequest(solveRequest, { solveId: 'w', problem: HELD_BYTE_PROBLEM });
    const lines = await hoverLines(result, result.steps[0].line);
    const weakest = lines.find((l) => l.startsWith('- Weakest token: '))?.match(/^- Weakest token: (`.+`) at (\d+\.\d%)$/);
    const alternatives = lines.find((l) => l.startsWith('- Top alternatives there: '));
    assert.ok(weakest && alternatives, lines.join('\n'));
    // Greedy decoding chose the most likely token: it comes first among the alternatives, under the same name.
    assert.ok(alternatives.startsWith(`- Top alternatives there: ${weakest[1]} ${weakest[2]}, `), `${weakest[0]}\n${alternatives}`);
    assert.equal(weakest[1], '`" elemental"`', 'the byte held back before it is no part of it');
  });

  it('shows each step on its own line with its own confidence when one CaT node closed several, as greedy decoding does', async () => {
    const settings = { modelDir: QWEN3_MODEL_DIR, maxTokens: 64, stepDelimiter: 'e' };
    await server.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: testSettings({ ...settings, strategy: 'greedy' }) });
    const greedy = await server.connection.sendRequest(solveRequest, { solveId: 'g', problem: SEVERAL_STEPS_PROBLEM });
    // One greedy candidate per step: the search walks the greedy chain, a node per token that closes steps.
    const cat = defaultCatSettings({ branches: 1, firstCandidate: 'greedy' });
    await server.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: testSettings({ ...settings, strategy: 'cat', cat }) });
    const search = await server.connection.sendRequest(solveRequest, { solveId: 'c', problem: SEVERAL_STEPS_PROBLEM });

    const tree = await server.connection.sendRequest(reasoningTreeRequest, { solveId: 'c' });
    const chosen = tree.nodes.filter((n) => n.chosen && n.text !== '');
    assert.ok(chosen.some((n) => n.text.includes('\n')), 'a node closed several steps (its text has a line for each)');
    assert.deepEqual(
      search.steps.map((s) => [s.line, s.text]),
      greedy.steps.map((s) => [s.line, s.text]),
      'the same step lines as greedy decoding',
    );
    for (const step of search.steps) {
      assert.equal(lineOf(search.text, step.line), onOneLine(step.text));
      const hover = await hoverLines(search, step.line);
      assert.match(hover[0], new RegExp(`^\\*\\*Step ${step.index + 1}: ${(step.confidence * 100).toFixed(1)}% confidence`));
    }
    // The tree view numbers a node by its first step and goes to its first line.
    for (const node of chosen) {
      const first = search.steps.find((s) => s.line === node.line);
      assert.ok(first, `node ${node.id} is shown at line ${node.line}`);
      assert.equal(node.depth, first.index, `node ${node.id} begins at step ${first.index + 1}`);
    }
  });
});
