/** Every command, registered from one table of factories `(ctx) => handler`. */
import * as vscode from 'vscode';
import type { Ctx } from './ctx';
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
  // Internal: not in the command palette; integration tests read what they cannot see otherwise.
  'caspo.debug.serverPid': (ctx) => () => ctx.serverPid(),
  'caspo.debug.serverSettings': (ctx) => () => ctx.resolveSettings().server,
  'caspo.debug.gutter': (ctx) => (uri: string) => ctx.gutter.paintedLines(uri),
};

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, factory]) => vscode.commands.registerCommand(id, factory(ctx)));
}
