import { ErrorCodes, ResponseError, type Position, type Range } from 'vscode-languageserver';
import type { SolveRegistry } from '../host/solveRegistry';
import type { ReasoningDocument } from '../trace/reasoningDocument';

/**
 * Checks of a request's params at the boundary: a field that is missing or of the wrong type answers InvalidParams
 * naming it, where reading it deeper in would fail with a TypeError (an InternalError with a stack in the log).
 */
export function invalidParams(method: string, field: string, expected: string, value: unknown): ResponseError<void> {
  return new ResponseError(ErrorCodes.InvalidParams, `${method}: ${field} must be ${expected}, got ${JSON.stringify(value)}`);
}

/** `value[key]`, or undefined when `value` is not an object. */
export function member(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** The reasoning document a text document request names (`textDocument.uri`); undefined for any other document. */
export function requestedDocument(registry: SolveRegistry, method: string, params: unknown): ReasoningDocument | undefined {
  const uri = member(member(params, 'textDocument'), 'uri');
  if (typeof uri !== 'string') throw invalidParams(method, 'textDocument.uri', 'a string', uri);
  return registry.byUri(uri);
}

/** LSP's optional `workDoneToken`: a string or an integer. */
export function checkWorkDoneToken(method: string, params: unknown): void {
  const token = member(params, 'workDoneToken');
  if (token !== undefined && typeof token !== 'string' && !Number.isInteger(token)) {
    throw invalidParams(method, 'workDoneToken', 'a string or an integer when set', token);
  }
}

export function checkPosition(method: string, field: string, value: unknown): Position {
  for (const key of ['line', 'character']) {
    const n = member(value, key);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw invalidParams(method, `${field}.${key}`, 'a non-negative integer', n);
  }
  return value as Position;
}

export function checkRange(method: string, field: string, value: unknown): Range {
  checkPosition(method, `${field}.start`, member(value, 'start'));
  checkPosition(method, `${field}.end`, member(value, 'end'));
  return value as Range;
}
