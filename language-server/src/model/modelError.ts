/** Why a model folder could not be used. Stable strings so callers (CLI, LSP) can branch on them. */
export type ModelErrorCode =
  | 'modelFolderMissing'
  | 'modelFileMissing'
  | 'modelFileCorrupt'
  | 'configInvalid'
  | 'graphMismatch'
  | 'executionProviderUnavailable'
  | 'tokenizerInvalid'
  /** The graph ran but its logits are not numbers (NaN): broken weights or a broken export. */
  | 'invalidOutput';

/**
 * An error about the model folder. The message names the file and field and says what to do,
 * so it can be shown to the user as is.
 */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
