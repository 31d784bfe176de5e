import { KEPT_FINISHED_SOLVES, solveIdFromUri } from '../../../src/protocol';
import type { ReasoningDocument } from '../trace/reasoningDocument';
import type { SolveSearch } from './solveSearch';

/**
 * The reasoning documents of this server's solves, by solve id. Running solves are always kept;
 * beyond KEPT_FINISHED_SOLVES finished ones those updated longest ago are dropped (their URIs are returned so the
 * caller can clear their diagnostics), the order in which the extension drops its documents.
 */
export class SolveRegistry {
  private readonly documents = new Map<string, ReasoningDocument>();
  /** The reasoning trees of the CaT solves among them. */
  private readonly searches = new Map<string, SolveSearch>();

  /** Registers a new solve; a solve id may be used once per server. */
  add(document: ReasoningDocument): void {
    if (this.documents.has(document.solveId)) {
      throw new Error(`solve id "${document.solveId}" is already in use; the client must choose a new id per solve`);
    }
    this.documents.set(document.solveId, document);
  }

  has(solveId: string): boolean {
    return this.documents.has(solveId);
  }

  get(solveId: string): ReasoningDocument | undefined {
    return this.documents.get(solveId);
  }

  /** Keeps the tree of a registered solve (CaT) for the tree view and re-expansion. */
  addSearch(solveId: string, search: SolveSearch): void {
    if (!this.documents.has(solveId)) throw new Error(`solve "${solveId}" is not registered`);
    this.searches.set(solveId, search);
  }

  searchOf(solveId: string): SolveSearch | undefined {
    return this.searches.get(solveId);
  }

  /**
   * The document at exactly `uri`. The id alone is not enough: solve ids restart with the extension host,
   * and a reasoning document kept open from before (solve-1/a.caspo) must not show solve 1 of this session.
   */
  byUri(uri: string): ReasoningDocument | undefined {
    const solveId = solveIdFromUri(uri);
    const document = solveId === null ? undefined : this.documents.get(solveId);
    return document?.uri === uri ? document : undefined;
  }

  all(): ReasoningDocument[] {
    return [...this.documents.values()];
  }

  /** The solve was updated (it finished, a branch was re-expanded): it is the last to be dropped, as the client orders them. */
  touch(solveId: string): void {
    const document = this.documents.get(solveId);
    if (document === undefined) return;
    this.documents.delete(solveId);
    this.documents.set(solveId, document);
  }

  /** Drops the least recently updated finished documents beyond the limit; returns their URIs. */
  evictFinished(): string[] {
    const finished = this.all().filter((document) => document.finished);
    const evicted = finished.slice(0, Math.max(0, finished.length - KEPT_FINISHED_SOLVES));
    for (const document of evicted) {
      this.documents.delete(document.solveId);
      this.searches.delete(document.solveId);
    }
    return evicted.map((document) => document.uri);
  }
}
