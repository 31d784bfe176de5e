import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { ModelHost, type LoadedModel } from '../../language-server/src/host/modelHost';
import { defaultIntraOpThreads } from '../../language-server/src/model/executionProvider';
import type { ModelSpec } from '../../language-server/src/host/settings';
import { EMBEDDED_MODEL_DIR, REPO_ROOT } from './helpers/languageServerProcess';

describe('model host (embedded model)', function () {
  this.timeout(60_000);
  const events: string[] = [];
  const logged: string[] = [];
  let host: ModelHost;
  const spec = (executionProvider: ModelSpec['executionProvider'] = 'cpu', modelDir = EMBEDDED_MODEL_DIR): ModelSpec => ({ modelDir, executionProvider, cpuThreads: 0 });
  const isDisposed = async (loaded: LoadedModel) => {
    try {
      await loaded.model.forward([[1]], loaded.model.emptyCache(1));
      return false;
    } catch (error) {
      return /after dispose/.test((error as Error).message);
    }
  };

  beforeEach(() => {
    events.length = 0;
    logged.length = 0;
    host = new ModelHost({
      loading: (s) => events.push(`loading ${s.executionProvider}`),
      loaded: (l) => events.push(`loaded ${l.name}`),
      failed: (e) => events.push(`failed ${e.message.slice(0, 30)}`),
      log: (message) => logged.push(message),
    });
  });
  afterEach(() => host.dispose(0));

  it('loads nothing until asked, then once for concurrent solves', async () => {
    host.configure(spec());
    assert.deepEqual(events, []);
    const [a, b] = await Promise.all([host.acquire(), host.acquire()]);
    assert.equal(a.loaded, b.loaded);
    assert.deepEqual(events, ['loading cpu', 'loaded caspo-arith']);
    assert.equal(a.loaded.activeProvider, `cpu, ${defaultIntraOpThreads()} thread(s)`);
    await a.release();
    await b.release();
  });

  it('keeps a retired model until its last solve ends, then disposes it; the next solve loads the new one', async () => {
    host.configure(spec());
    const lease = await host.acquire();
    host.configure(spec('auto'));
    assert.equal(await isDisposed(lease.loaded), false, 'still in use');
    await lease.release();
    assert.equal(await isDisposed(lease.loaded), true);
    const next = await host.acquire();
    assert.notEqual(next.loaded, lease.loaded);
    assert.deepEqual(events.filter((e) => e.startsWith('loading')), ['loading cpu', 'loading auto']);
    await next.release();
  });

  it('runs the CPU with caspo.cpuThreads threads when set, and reloads when it changes', async () => {
    host.configure({ ...spec(), cpuThreads: 2 });
    const first = await host.acquire();
    assert.equal(first.loaded.activeProvider, 'cpu, 2 thread(s)');
    await first.release();
    host.configure({ ...spec(), cpuThreads: 2 });
    const same = await host.acquire();
    assert.equal(same.loaded, first.loaded, 'the same settings keep the loaded model');
    await same.release();
    host.configure(spec());
    const automatic = await host.acquire();
    assert.notEqual(automatic.loaded, first.loaded);
    assert.equal(automatic.loaded.activeProvider, `cpu, ${defaultIntraOpThreads()} thread(s)`);
    await automatic.release();
  });

  it('does not keep a failed load: fixing the setting makes the next solve work', async () => {
    host.configure(spec('cpu', join(REPO_ROOT, 'missing-model')));
    await assert.rejects(host.acquire(), /CASPO could not load the model in .*missing-model: Model folder .* does not exist\..* Change caspo\.modelPath/);
    await assert.rejects(host.acquire(), /does not exist/); // tried again, not a cached failure
    host.configure(spec());
    await (await host.acquire()).release();
    assert.deepEqual(events.map((e) => e.split(' ')[0]), ['loading', 'failed', 'loading', 'failed', 'loading', 'loaded']);
  });

  it('on shutdown releases a model in use once its last lease ends, not under it', async () => {
    host.configure(spec());
    const lease = await host.acquire();
    const disposing = host.dispose(60_000);
    await new Promise((resolve) => setImmediate(resolve)); // what shutdown does at once is done
    assert.equal(await isDisposed(lease.loaded), false, 'still in use');
    await assert.rejects(host.acquire(), /shutting down/);
    await lease.release();
    await disposing;
    assert.equal(await isDisposed(lease.loaded), true);
  });

  it('on shutdown leaves a model still in use after the grace period to the exit, and says so', async () => {
    host.configure(spec());
    const lease = await host.acquire();
    await host.dispose(50);
    assert.equal(await isDisposed(lease.loaded), false, 'not released under a running decode');
    assert.deepEqual(logged.filter((m) => m.startsWith('shutdown')), [
      `shutdown: the model in ${EMBEDDED_MODEL_DIR} is still in use after 50 ms; it is released when the server exits`,
    ]);
    await lease.release();
    assert.equal(await isDisposed(lease.loaded), true, 'released when its decode ends after all');
  });
});
