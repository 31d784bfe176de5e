import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { briefReason } from '../../language-server/src/cli/terminal';
import {
  AUTO_WEBGPU_MIN_GRAPH_BYTES,
  AUTO_WEBGPU_OVER_THREADS_MIN_GRAPH_BYTES,
  autoSkipReason,
  defaultIntraOpThreads,
  describeExecutionProviders,
} from '../../language-server/src/model/executionProvider';
import { graphSizeBytes } from '../../language-server/src/model/session';

describe('execution provider defaults', () => {
  it('auto tries WebGPU only where it was measured faster: a graph of 1 GB or more, or of 200 MB or more and one CPU thread', () => {
    assert.equal(AUTO_WEBGPU_MIN_GRAPH_BYTES, 200e6);
    assert.match(autoSkipReason('webgpu', 17_014_965, 1) ?? '', /^skipped for a 17 MB model: below 200 MB the CPU decodes faster/);
    assert.match(autoSkipReason('webgpu', 420_000, 8) ?? '', /^skipped for a 0\.4 MB model/);
    assert.equal(autoSkipReason('webgpu', 200e6, 1), null);
    assert.equal(autoSkipReason('webgpu', 1_260_642_314, 1), null);
    assert.match(autoSkipReason('webgpu', 346_971_363, 2) ?? '', /^2 CPU threads decode faster below 1 GB \(set the provider to "webgpu"/);
    assert.equal(briefReason(autoSkipReason('webgpu', 346_971_363, 8)!), '8 CPU threads decode faster below 1 GB');
    assert.equal(AUTO_WEBGPU_OVER_THREADS_MIN_GRAPH_BYTES, 1e9);
    assert.equal(autoSkipReason('webgpu', 1_260_642_314, 8), null, 'from 1 GB WebGPU (KV cache on the GPU) beat 8 threads');
    assert.equal(briefReason(autoSkipReason('webgpu', 17_014_965, 1)!), 'skipped for a 17 MB model');
    assert.equal(autoSkipReason('cuda', 1_000, 8), null);
    assert.equal(autoSkipReason('cpu', 1_000, 8), null);
  });

  it('sizes a model by its graph and the external weights beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caspo-graph-'));
    try {
      writeFileSync(join(dir, 'model.onnx'), Buffer.alloc(1_000));
      assert.equal(graphSizeBytes(join(dir, 'model.onnx')), 1_000);
      writeFileSync(join(dir, 'model.onnx_data'), Buffer.alloc(250_000));
      writeFileSync(join(dir, 'other.onnx'), Buffer.alloc(7));
      writeFileSync(join(dir, 'other.onnx_data'), Buffer.alloc(9));
      assert.equal(graphSizeBytes(join(dir, 'model.onnx')), 251_000, 'not another graph, nor its data');
      // torch over 2 GB saves a file per tensor, named after it
      writeFileSync(join(dir, 'model.layers.0.mlp.weight'), Buffer.alloc(4_000));
      assert.equal(graphSizeBytes(join(dir, 'model.onnx')), 255_000);
      // A graph at the top of a model folder (optimum-cli) sits among files that are not its weights; a dangling link has no size
      for (const name of ['config.json', 'tokenizer.json', 'model.safetensors', 'chat_template.jinja', '.gitattributes']) writeFileSync(join(dir, name), Buffer.alloc(50_000));
      symlinkSync(join(dir, 'gone'), join(dir, 'model.layers.1.mlp.weight'));
      assert.equal(graphSizeBytes(join(dir, 'model.onnx')), 255_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses half the cores for CPU threads, at least 1 and at most 8', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 6, 16, 17, 64].map((cores) => defaultIntraOpThreads(cores)),
      [1, 1, 1, 2, 3, 8, 8, 8],
    );
  });

  it('says where the KV cache lives on a GPU provider, and why it stayed on the CPU', () => {
    const base = { requested: 'auto' as const, rejected: [], intraOpNumThreads: 8 };
    assert.equal(describeExecutionProviders({ ...base, active: 'cpu' }), 'cpu, 8 thread(s)');
    assert.equal(describeExecutionProviders({ ...base, active: 'webgpu', outputsOnDevice: 24 }), 'webgpu, KV cache on the GPU');
    assert.equal(
      describeExecutionProviders({ ...base, active: 'webgpu', kvCacheOnHostBecause: 'Gather: unsupported' }),
      'webgpu, KV cache on the CPU (on the GPU: Gather: unsupported)',
    );
    assert.equal(describeExecutionProviders({ ...base, active: 'webgpu' }), 'webgpu');
  });
});
