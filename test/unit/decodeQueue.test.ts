import { strict as assert } from 'node:assert';
import { DecodeQueue } from '../../language-server/src/host/decodeQueue';

const cancelled = () => new Error('cancelled while queued');
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('decode queue', () => {
  it('lets `limit` requests decode at once and starts the others in arrival order as turns end', async () => {
    const queue = new DecodeQueue(2);
    const started: string[] = [];
    const ends = new Map<string, () => void>();
    const ask = (name: string) => queue.turn(new AbortController().signal, cancelled).then((end) => (started.push(name), ends.set(name, end)));
    for (const name of ['a', 'b', 'c', 'd']) void ask(name);
    await settle();
    assert.deepEqual(started, ['a', 'b']);
    ends.get('b')!();
    ends.get('b')!(); // a second end gives no second turn away
    await settle();
    assert.deepEqual(started, ['a', 'b', 'c']);
    ends.get('a')!();
    await settle();
    assert.deepEqual(started, ['a', 'b', 'c', 'd']);
  });

  it('tells a waiting request how many turns must end before it starts, each time that falls', async () => {
    const queue = new DecodeQueue(2);
    const heard: Record<string, number[]> = { c: [], d: [] };
    const ends: (() => void)[] = [];
    const ask = (name: string) => queue.turn(new AbortController().signal, cancelled, (ahead) => heard[name].push(ahead)).then((end) => ends.push(end));
    void ask('a');
    void ask('b');
    void ask('c');
    void ask('d');
    await settle();
    ends[0]();
    await settle();
    assert.deepEqual(heard, { c: [1], d: [2, 1] }, 'a and b found a turn free: they hear nothing');
  });

  it('answers a request cancelled while it waits at once, never starts it, and moves the ones behind it up', async () => {
    const queue = new DecodeQueue(1);
    const abort = new AbortController();
    let endFirst!: () => void;
    void queue.turn(new AbortController().signal, cancelled).then((end) => (endFirst = end));
    let queuedStarted = false;
    const queued = queue.turn(abort.signal, cancelled).then(() => (queuedStarted = true));
    const behind: number[] = [];
    const last = queue.turn(new AbortController().signal, cancelled, (ahead) => behind.push(ahead));
    await settle();
    abort.abort();
    await assert.rejects(queued, /cancelled while queued/);
    assert.deepEqual(behind, [2, 1]);
    endFirst();
    await last;
    assert.equal(queuedStarted, false);
  });

  it('refuses a request whose signal has already aborted, even with a turn free', async () => {
    const queue = new DecodeQueue(1);
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(queue.turn(abort.signal, cancelled), /cancelled while queued/);
    const end = await queue.turn(new AbortController().signal, cancelled); // the refused one took no turn
    end();
  });
});
