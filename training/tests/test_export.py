"""The KV-cache forward that the ONNX export uses equals the training forward, and the export is a
valid ONNX model in the engine's graph layout (design.md §3)."""
from __future__ import annotations

import onnx
import pytest
import torch

from caspo_train.export import export_onnx
from caspo_train.model import CausalLM, ModelConfig

TINY = ModelConfig(vocab_size=259, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    m = CausalLM(TINY).eval()
    # Default init (std 0.02) leaves logits nearly flat; larger weights make the comparison mean something.
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0.0, 0.3)
    return m


def _cached_logits(model, ids, prefill: int):
    """Prefill `prefill` tokens in one call, then feed the rest one token at a time."""
    past = model.empty_past(ids.shape[0])
    rows = []
    chunks = [(0, prefill)] + [(t, t + 1) for t in range(prefill, ids.shape[1])]
    for start, end in chunks:
        if end <= start:
            continue
        mask = torch.ones(ids.shape[0], end, dtype=torch.int64)
        pos = torch.arange(start, end).unsqueeze(0).expand(ids.shape[0], -1)
        logits, past = model.forward_cached(ids[:, start:end], mask, pos, past)
        rows.append(logits)
    assert past[0][0].shape == (ids.shape[0], TINY.num_key_value_heads, ids.shape[1], TINY.head_dim)
    return torch.cat(rows, dim=1)


@pytest.mark.parametrize("prefill", [0, 1, 7])
@torch.no_grad()
def test_cached_forward_equals_training_forward(model, prefill):
    ids = torch.randint(0, TINY.vocab_size, (2, 19), generator=torch.Generator().manual_seed(1))
    full = model(ids)
    cached = _cached_logits(model, ids, prefill)
    assert cached.shape == full.shape == (2, 19, TINY.vocab_size)
    assert full.abs().max() > 0.5  # not a degenerate all-zero comparison
    torch.testing.assert_close(cached, full, atol=1e-5, rtol=0)


@torch.no_grad()
def test_cached_forward_is_causal(model):
    ids = torch.randint(0, TINY.vocab_size, (1, 12), generator=torch.Generator().manual_seed(2))
    changed = ids.clone()
    changed[0, 8:] = (changed[0, 8:] + 1) % TINY.vocab_size
    torch.testing.assert_close(model(changed)[:, :8], model(ids)[:, :8], atol=1e-6, rtol=0)
    assert not torch.allclose(model(changed)[:, 8:], model(ids)[:, 8:], atol=1e-3)


def test_export_onnx_is_valid(model, tmp_path):
    path = tmp_path / "onnx" / "model.onnx"
    export_onnx(model, path)
    onnx.checker.check_model(str(path))
    graph = onnx.load(str(path)).graph
    inputs = [i.name for i in graph.input]
    outputs = [o.name for o in graph.output]
    kv = [f"{i}.{kind}" for i in range(TINY.num_hidden_layers) for kind in ("key", "value")]
    assert inputs == ["input_ids", "attention_mask", "position_ids"] + [f"past_key_values.{n}" for n in kv]
    assert outputs == ["logits"] + [f"present.{n}" for n in kv]
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
    assert dims["input_ids"] == ["batch_size", "sequence_length"]
    assert dims["past_key_values.0.key"] == ["batch_size", TINY.num_key_value_heads, "past_sequence_length", TINY.head_dim]
