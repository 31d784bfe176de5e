import { EXIT_CANCELLED } from './errors';

/** Ctrl-C as an AbortSignal for the decoding loop; owned by one command run. */
export interface Interrupt {
  readonly signal: AbortSignal;
  /** Removes the SIGINT handler (restoring Node's default: exit at once). */
  dispose(): void;
}

/**
 * The first Ctrl-C aborts the signal so decoding stops at the next token and the command prints
 * what it has; a second Ctrl-C exits at once.
 */
export function onInterrupt(): Interrupt {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(EXIT_CANCELLED);
    controller.abort();
  };
  process.on('SIGINT', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
    },
  };
}
