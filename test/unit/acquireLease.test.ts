import { strict as assert } from 'node:assert';
import { LSPErrorCodes, ResponseError } from 'vscode-languageserver';
import { acquireLease } from '../../language-server/src/handlers/modelErrors';
import { ModelLoadFailure, type ModelHost, type ModelLease } from '../../language-server/src/host/modelHost';

/** A host whose load ends when the test says (a real load takes from 100 ms to many seconds). */
function slowHost() {
  let finish!: (outcome: ModelLease | Error) => void;
  const released: string[] = [];
  const lease = { loaded: {}, release: async () => void released.push('released') } as unknown as ModelLease;
  const host = {
    acquire: () =>
      new Promise<ModelLease>((resolve, reject) => {
        finish = (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome));
      }),
  } as unknown as ModelHost;
  return { host, lease, released, finish: (outcome: ModelLease | Error) => finish(outcome) };
}

describe('acquiring the model for a request', () => {
  it('answers a cancel while the model loads at once, and releases the lease when the load ends', async () => {
    const { host, lease, released, finish } = slowHost();
    const abort = new AbortController();
    const acquiring = acquireLease(host, abort.signal, 'cancelled while loading');
    abort.abort();
    await assert.rejects(acquiring, (e: unknown) => e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled && e.message === 'cancelled while loading');
    assert.deepEqual(released, [], 'the load is still running');
    finish(lease);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(released, ['released'], 'nobody holds the model it loaded');
  });

  it('gives the lease when the load ends first, and a load failure as an error naming the setting', async () => {
    const first = slowHost();
    const acquiring = acquireLease(first.host, new AbortController().signal, 'x');
    first.finish(first.lease);
    assert.equal(await acquiring, first.lease);

    const failing = slowHost();
    const failed = acquireLease(failing.host, new AbortController().signal, 'x');
    failing.finish(new ModelLoadFailure('CASPO could not load the model in /m: gone.', 'caspo.modelPath'));
    await assert.rejects(failed, (e: unknown) => e instanceof ResponseError && e.code === LSPErrorCodes.RequestFailed && (e.data as { setting: string }).setting === 'caspo.modelPath');
  });

  it('is cancelled at once when the request was cancelled before it asked', async () => {
    const { host, lease, released, finish } = slowHost();
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(acquireLease(host, abort.signal, 'early'), /early/);
    finish(lease);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(released, ['released']);
  });
});
