import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LOW_CONFIDENCE_CODE, RE_EXPAND_COMMAND, type ReExpandArguments } from '../../src/protocol';
import type { TreeItemSnapshot } from '../../src/reasoningTreeView';
import type { ReExpandOutcome } from '../../src/reExpandCommands';
import { activateExtension, documentOf, EXTENSION_ID, resetSettings, setSettings, solved, stepLines, waitForDiagnostics } from './helpers';

/** Under the default CaT settings the embedded model prunes a candidate beside step 4 here, and two beside step 5. */
const PRUNING_PROBLEM = 'Work out 58 + 633+(681*84 - 894 + 68).';

describe('CaT: pruned branches, re-expansion and the reasoning tree', function () {
  this.timeout(60_000);
  before(activateExtension);
  afterEach(resetSettings);

  const codeLenses = (uri: string) => vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', vscode.Uri.parse(uri));
  const treeItems = (uri: string) => vscode.commands.executeCommand<TreeItemSnapshot[]>('caspo.debug.reasoningTree', uri);

  it('puts the code lens "N pruned branches — re-expand" on each step whose siblings were pruned', async () => {
    const { uri, result } = await solved(PRUNING_PROBLEM);
    const items = await treeItems(uri);
    const lenses = await codeLenses(uri);
    assert.ok(lenses.length >= 1, 'the embedded model prunes something on this problem');
    for (const lens of lenses) {
      const step = result.steps.find((s) => s.line === lens.range.start.line);
      assert.ok(step, `lens on line ${lens.range.start.line} is on a step`);
      const args = lens.command!.arguments![0] as ReExpandArguments;
      assert.equal(lens.command!.command, RE_EXPAND_COMMAND);
      assert.equal(lens.command!.title, `${args.candidates.length} pruned branch${args.candidates.length === 1 ? '' : 'es'} — re-expand`);
      assert.equal(args.stepIndex, step.index);
      for (const candidate of args.candidates) {
        const item = items.find((i) => i.nodeId === candidate.nodeId);
        assert.equal(item?.contextValue, 'caspo.node.pruned', `${candidate.nodeId} is a pruned node of the tree view`);
      }
    }
    const prunedLines = new Set(lenses.map((l) => l.range.start.line));
    for (const step of result.steps.filter((s) => !prunedLines.has(s.line))) {
      const hover = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', vscode.Uri.parse(uri), new vscode.Position(step.line, 1));
      assert.doesNotMatch(hover.map((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value)).join('\n')).join('\n'), /CaT pruned/);
    }
  });

  it('running the lens with a chosen branch adds it to the document as an alternative path, with gutter icons, hovers and warnings', async () => {
    const { uri, result } = await solved(PRUNING_PROBLEM);
    const [lens] = await codeLenses(uri);
    const args = lens.command!.arguments![0] as ReExpandArguments;
    const candidate = args.candidates[0];
    const outcome = await vscode.commands.executeCommand<ReExpandOutcome>(lens.command!.command, ...lens.command!.arguments!, candidate.nodeId);
    assert.equal(outcome.error, undefined);
    const alternative = outcome.result!.alternative;

    const document = documentOf(uri);
    const text = document.getText();
    assert.equal(text, outcome.result!.text, 'the command resolves once the editor shows the new text');
    assert.deepEqual(stepLines(text), result.steps.map((s) => s.text), 'the chosen path is unchanged');
    assert.match(document.lineAt(alternative.headingLine).text, new RegExp(`^Alternative from step ${args.stepIndex + 1} \\(pruned at \\d+\\.\\d%\\): `));
    assert.equal(document.lineAt(alternative.steps[0].line).text, candidate.text);
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === document);
    assert.ok(editor, 'the reasoning document is visible');
    assert.equal(editor.selection.active.line, alternative.headingLine, 'the editor is at the new section');

    const band = (c: number) => (c >= 0.8 ? 'high' : c >= 0.5 ? 'medium' : 'low');
    const expected = { high: [] as number[], medium: [] as number[], low: [] as number[] };
    for (const s of [...result.steps, ...alternative.steps]) expected[band(s.confidence)].push(s.line);
    assert.deepEqual(await vscode.commands.executeCommand('caspo.debug.gutter', uri), expected);

    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', vscode.Uri.parse(uri), new vscode.Position(alternative.steps[0].line, 1));
    const markdown = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(markdown, new RegExp(`\\*\\*Step ${args.stepIndex + 1} \\(alternative from step ${args.stepIndex + 1}\\): `));
    const weak = alternative.steps.filter((s) => s.confidence < 0.5).map((s) => s.line);
    assert.ok(weak.length > 0, 'the pruned step is below the warning threshold');
    const diagnostics = await waitForDiagnostics(uri, (d) => weak.every((line) => d.some((x) => x.range.start.line === line)));
    for (const line of weak) assert.equal(diagnostics.find((d) => d.range.start.line === line)?.code, LOW_CONFIDENCE_CODE);

    const [after] = await codeLenses(uri);
    assert.match(after.command!.title, /— (re-expand \(1 shown below\)|shown below)$/);
  });

  it('lists the whole tree in the Reasoning Tree view: chosen, kept and pruned nodes, each with its confidence', async () => {
    const { uri, result } = await solved(PRUNING_PROBLEM);
    const items = await treeItems(uri);
    const chosen = items.filter((i) => / · chosen($| · )/.test(i.description));
    assert.deepEqual(
      chosen.map((i) => [i.level, i.label]),
      result.steps.map((s) => [s.index, `${s.index + 1}. ${s.text}`]),
      'the chosen path, one level per step',
    );
    for (const item of items) assert.match(item.description, /^\d+\.\d% · /);
    const pruned = items.filter((i) => i.contextValue === 'caspo.node.pruned');
    assert.ok(pruned.length >= 2, `pruned rows: ${JSON.stringify(items.map((i) => [i.label, i.description]))}`);
    for (const item of pruned) {
      assert.equal(item.icon, 'circle-slash');
      assert.match(item.description, /^\d+\.\d% · pruned \(below the threshold\)$/);
    }
    assert.ok(chosen.every((i) => i.icon === 'pass-filled' || i.icon === 'warning'));

    // "Re-expand" on a pruned node (the view's inline action) adds its branch; the view then marks it.
    const outcome = await vscode.commands.executeCommand<ReExpandOutcome>('caspo.reExpandNode', { id: pruned[0].nodeId });
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.result!.alternative.nodeId, pruned[0].nodeId);
    const updated = await treeItems(uri);
    const marked = updated.find((i) => i.nodeId === pruned[0].nodeId)!;
    assert.equal(marked.contextValue, 'caspo.node.prunedExpanded');
    assert.match(marked.description, / · re-expanded$/);
    assert.ok(updated.length > items.length, 'the continuation joined the tree');

    // A row of another tree (node ids repeat across solves) is not taken for this tree's node of the same id.
    const other = await vscode.commands.executeCommand<ReExpandOutcome>('caspo.reExpandNode', { id: pruned[1].nodeId, depth: 0, parentId: null, text: 'a step of another solve' });
    assert.match(other.error ?? '', /now shows another tree than the one that node came from: choose the node again/);
    assert.equal(other.result, undefined);
  });

  it('offers the re-expansion as a quick fix on a low-confidence warning where siblings were pruned', async () => {
    await setSettings({ warningThreshold: 1 });
    const { uri } = await solved(PRUNING_PROBLEM);
    const [lens] = await codeLenses(uri);
    const line = lens.range.start.line;
    const [warning] = (await waitForDiagnostics(uri, (d) => d.some((x) => x.range.start.line === line))).filter((d) => d.range.start.line === line);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', vscode.Uri.parse(uri), warning.range, vscode.CodeActionKind.QuickFix.value);
    const fix = actions.find((a) => a.command?.command === RE_EXPAND_COMMAND);
    assert.ok(fix, `actions: ${actions.map((a) => a.title).join(' | ')}`);
    assert.match(fix.title, /^Re-expand the pruned alternative ".+" \(\d+\.\d%\) at step \d+$/);
    const outcome = await vscode.commands.executeCommand<ReExpandOutcome>(fix.command!.command, ...fix.command!.arguments!);
    assert.equal(outcome.result?.alternative.nodeId, fix.command!.arguments![1]);
  });

  it('shows each step a node closed on its own line, with its own gutter icon and hover, as greedy decoding does', async () => {
    // The random model with the Qwen3 tokenizer (made by scripts/make-fixtures.mjs): with "e" as the step
    // delimiter, some of its tokens on this problem close several steps at once ("…combin|R|duc…").
    const model = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'test', 'fixtures', 'generated', 'qwen3-gqa');
    await setSettings({ modelPath: model, stepDelimiter: 'e', maxTokens: 64, strategy: 'greedy' });
    const greedy = await solved('What is 2+2?');
    // One greedy candidate per step: CaT walks the greedy chain.
    await setSettings({ strategy: 'cat', 'cat.branches': 1, 'cat.firstCandidate': 'greedy' });
    const { uri, result } = await solved('What is 2+2?');
    const chosen = (await treeItems(uri)).filter((i) => / · chosen($| · )/.test(i.description));
    assert.ok(chosen.length < greedy.result.steps.length, `a node closed several steps: ${chosen.length} nodes for ${greedy.result.steps.length} steps`);
    assert.deepEqual(stepLines(documentOf(uri).getText()), stepLines(documentOf(greedy.uri).getText()), 'the lines of greedy decoding');

    const band = (c: number) => (c >= 0.8 ? 'high' : c >= 0.5 ? 'medium' : 'low');
    const expected = { high: [] as number[], medium: [] as number[], low: [] as number[] };
    for (const s of result.steps) expected[band(s.confidence)].push(s.line);
    assert.deepEqual(await vscode.commands.executeCommand('caspo.debug.gutter', uri), expected, 'one icon per step line');
    for (const step of result.steps) {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', vscode.Uri.parse(uri), new vscode.Position(step.line, 0));
      const markdown = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
      assert.match(markdown, new RegExp(`^\\*\\*Step ${step.index + 1}: ${(step.confidence * 100).toFixed(1)}% confidence`));
    }
  });

  it('shows a greedy solve as one path with nothing to re-expand', async () => {
    await setSettings({ strategy: 'greedy' });
    const { uri } = await solved(PRUNING_PROBLEM);
    assert.deepEqual(await codeLenses(uri), []);
    assert.deepEqual(await treeItems(uri), []);
  });
});
