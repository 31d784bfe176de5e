/** A one-line progress counter on stderr, drawn only when stderr is a terminal. */
export interface Progress {
  update(done: number, detail?: string): void;
  /** Clears the line. */
  done(): void;
}

export function createProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  let last = 0;
  return {
    update(done, detail) {
      const now = Date.now();
      if (done < total && now - last < 100) return; // redraw at most 10 times a second
      last = now;
      stream.write(`\r\x1b[2K${label} ${done}/${total}${detail ? `  ${detail}` : ''}`);
    },
    done() {
      stream.write('\r\x1b[2K');
    },
  };
}
