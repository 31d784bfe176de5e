/** Every command, registered from one table of factories `(ctx) => handler`. */
import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { RE_EXPAND_COMMAND } from './protocol';
import { REVEAL_LINE_COMMAND } from './reasoningTreeView';
import { reExpandBranchCommand, reExpandNodeCommand, revealLine } from './reExpandCommands';
import { solveCommand } from './solveCommand';

type CommandFactory = (ctx: Ctx) => (...args: never[]) => unknown;

const COMMANDS: Record<string, CommandFactory> = {
  'caspo.solve': solveCommand,
  'caspo.cancelSolves': (ctx) => () => {
    const count = ctx.solves.cancelAll();
    if (count === 0) void vscode.window.showInformationMessage('CASPO: no solve is running.');
    return count;
  },
  'caspo.restartServer': (ctx) => () => ctx.restart(),
  'caspo.showLog': (ctx) => () => ctx.output.show(true),
  'caspo.showCalibration': (ctx) => (options?: { recompute?: boolean }) => ctx.calibration.show(options),
  // Behind the code lens and the quick fix (hidden from the palette: they need a step's pruned branches).
  [RE_EXPAND_COMMAND]: reExpandBranchCommand,
  // The Reasoning Tree view's action on a pruned node, and a click on a shown node.
  'caspo.reExpandNode': reExpandNodeCommand,
  [REVEAL_LINE_COMMAND]: (ctx) => (uri: string, line: number) => revealLine(ctx, uri, line),
  // Internal: not in the command palette; integration tests read what they cannot see otherwise.
  'caspo.debug.serverPid': (ctx) => () => ctx.serverPid(),
  'caspo.debug.calibrationShown': (ctx) => () => ctx.calibration.shown,
  'caspo.debug.serverSettings': (ctx) => () => ctx.resolveSettings().server,
  'caspo.debug.gutter': (ctx) => (uri: string) => ctx.gutter.paintedLines(uri),
  'caspo.debug.reasoningTree': (ctx) => (uri?: string) => ctx.reasoningTree.snapshot(uri),
  'caspo.debug.reasoningTreeMessage': (ctx) => (uri: string) => ctx.reasoningTree.messageFor(uri),
  'caspo.debug.reasoningTreeShownMessage': (ctx) => () => ctx.reasoningTree.shownMessage,
};

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, factory]) => vscode.commands.registerCommand(id, factory(ctx)));
}
