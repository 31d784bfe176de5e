import { REASONING_SCHEME } from './types';

/** Solve ids name documents and travel in URIs, so they are kept to URI-safe characters. */
export const SOLVE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const SLUG_MAX = 40;
const SOLVE_URI_PATTERN = new RegExp(`^${REASONING_SCHEME}:/solve-([A-Za-z0-9_-]{1,64})/`);

/**
 * A file-name-like short form of the problem made of unreserved URI characters only, so the URI
 * text is the same whichever side parses and prints it: "47*38 + 12" → "47x38-12".
 */
export function problemSlug(problem: string): string {
  const slug = problem
    .replace(/\*/g, 'x')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_MAX)
    .replace(/-+$/, '');
  return slug.length > 0 ? slug : 'problem';
}

/** `caspo-reasoning:/solve-<id>/<slug>.caspo` */
export function reasoningDocumentUri(solveId: string, problem: string): string {
  return `${REASONING_SCHEME}:/solve-${solveId}/${problemSlug(problem)}.caspo`;
}

/** The solve id named by a reasoning document URI, or null for any other URI. */
export function solveIdFromUri(uri: string): string | null {
  const match = SOLVE_URI_PATTERN.exec(uri);
  return match ? match[1] : null;
}
