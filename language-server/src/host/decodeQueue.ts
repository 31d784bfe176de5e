/**
 * How many solves or re-expansions decode at once. Every onnxruntime run in flight takes its own native buffers,
 * which the allocator keeps once the run ends: 24 long solves sent at once took the server to 600 MiB resident, and
 * it stayed there; two at a time, to 300 MiB, in no more time (the embedded model, 2 cores). One at a time saves
 * little more, while two let a short solve start beside a long one.
 */
export const DECODES_AT_ONCE = 2;

interface Waiting {
  start(): void;
  /** Told how many turns must end before this one starts. */
  ahead(turns: number): void;
}

/**
 * Turns to decode, first come first served: at most `limit` requests decode at once, the others wait. One queue
 * for the server, as one model is loaded at a time (a retired one only finishes the decodes it had).
 */
export class DecodeQueue {
  private running = 0;
  /** Only while every turn is taken: a request that finds one free takes it at once. */
  private readonly waiting: Waiting[] = [];

  constructor(private readonly limit = DECODES_AT_ONCE) {}

  /**
   * Resolves, once the caller may decode, with the function that ends its turn. While it waits, `onWaiting` hears
   * how many turns must end before it starts, at first and each time that falls. A `signal` that aborts while it
   * waits gives its place up and rejects at once with `cancelled()`: the caller never decodes.
   */
  turn(signal: AbortSignal, cancelled: () => Error, onWaiting: (turnsAhead: number) => void = () => undefined): Promise<() => void> {
    if (signal.aborted) return Promise.reject(cancelled());
    if (this.running < this.limit) return Promise.resolve(this.start());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiting.indexOf(waiting);
        this.waiting.splice(index, 1);
        reject(cancelled());
        this.reportWaiting(index);
      };
      const waiting: Waiting = {
        start: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.start());
        },
        ahead: onWaiting,
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiting);
      onWaiting(this.waiting.length);
    });
  }

  private start(): () => void {
    this.running++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.running--;
      this.waiting.shift()?.start();
      this.reportWaiting(0);
    };
  }

  /** The waiting requests from `index` on moved up one place. */
  private reportWaiting(index: number): void {
    // Every turn is taken while requests wait, so the one at index i starts when i + 1 turns have ended.
    for (let i = index; i < this.waiting.length; i++) this.waiting[i].ahead(i + 1);
  }
}
