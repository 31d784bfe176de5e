"""Export a CausalLM to the model contract (design.md §3) with a PyTorch parity reference.

Folder layout written: config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
onnx/model.onnx, parity.json (prompt ids, 40 greedy ids, and the PyTorch logits at every position
the engine will compare).
"""
from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path
from typing import List, Optional, Sequence

import torch

from .model import CausalLM, ExportWrapper

PARITY_STEPS = 40
OPSET = 17


def export_onnx(model: CausalLM, path: Path) -> None:
    cfg = model.cfg
    model = model.eval().to("cpu", torch.float32)
    wrapper = ExportWrapper(model)
    batch, past_len, seq = 2, 3, 2
    ids = torch.randint(0, cfg.vocab_size, (batch, seq))
    mask = torch.ones(batch, past_len + seq, dtype=torch.int64)
    pos = torch.arange(past_len, past_len + seq).unsqueeze(0).expand(batch, seq).contiguous()
    past = []
    for _ in range(cfg.num_hidden_layers):
        past += [torch.randn(batch, cfg.num_key_value_heads, past_len, cfg.head_dim) for _ in range(2)]
    input_names = ["input_ids", "attention_mask", "position_ids"]
    output_names = ["logits"]
    dynamic_axes = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    for i in range(cfg.num_hidden_layers):
        for kind in ("key", "value"):
            inp, out = f"past_key_values.{i}.{kind}", f"present.{i}.{kind}"
            input_names.append(inp)
            output_names.append(out)
            dynamic_axes[inp] = {0: "batch_size", 2: "past_sequence_length"}
            dynamic_axes[out] = {0: "batch_size", 2: "total_sequence_length"}
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # keep the TorchScript exporter on torch 2.x
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(wrapper, (ids, mask, pos, *past), str(path), input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes, opset_version=OPSET,
                          # Folding would store a transposed second copy of a tied embedding matrix
                          # (2x the file for a 152k vocabulary); ONNX Runtime folds at load anyway.
                          do_constant_folding=not cfg.tie_word_embeddings, **kwargs)
    import onnx  # imported late: only export needs it

    onnx.checker.check_model(str(path))


@torch.no_grad()
def greedy_reference(model: CausalLM, prompt_ids: Sequence[int], steps: int = PARITY_STEPS,
                     logit_indices: Optional[List[int]] = None) -> dict:
    """Prefill, then `steps` cached greedy steps; the logits row at each position compared."""
    model = model.eval().to("cpu", torch.float32)
    ids = torch.tensor([list(prompt_ids)], dtype=torch.int64)
    past = model.empty_past(1)
    mask = torch.ones(1, ids.shape[1], dtype=torch.int64)
    pos = torch.arange(ids.shape[1]).unsqueeze(0)
    rows, generated = [], []
    for step in range(steps + 1):
        logits, past = model.forward_cached(ids, mask, pos, past)
        row = logits[0, -1]
        rows.append(row if logit_indices is None else row[logit_indices])
        if step == steps:
            break
        nxt = int(torch.argmax(row))
        generated.append(nxt)
        total = mask.shape[1]
        ids = torch.tensor([[nxt]], dtype=torch.int64)
        pos = torch.tensor([[total]], dtype=torch.int64)
        mask = torch.ones(1, total + 1, dtype=torch.int64)
    return {
        "prompt_ids": list(prompt_ids),
        "generated_ids": generated,
        "logit_indices": logit_indices,
        "logits": [[round(float(v), 6) for v in r] for r in rows],
    }


def export_model_folder(model: CausalLM, folder: Path, *, tokenizer_files: Optional[Path] = None,
                        write_tokenizer=None, bos: int, eos: int, pad: int, parity_prompt: Sequence[int],
                        extra_config: Optional[dict] = None, parity_logit_indices: Optional[List[int]] = None,
                        ) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = model.cfg.hf_config(bos, eos, pad)
    config.update(extra_config or {})
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    generation = {"bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad, "do_sample": False,
                  "max_new_tokens": 160}
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")
    if tokenizer_files is not None:
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(Path(tokenizer_files) / name, folder / name)
    elif write_tokenizer is not None:
        write_tokenizer(folder)
    export_onnx(model, folder / "onnx" / "model.onnx")
    parity = greedy_reference(model, parity_prompt, logit_indices=parity_logit_indices)
    (folder / "parity.json").write_text(json.dumps(parity) + "\n")
