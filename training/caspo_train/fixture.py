"""Random-weight GQA test fixture with a real tokenizer (the Qwen3 one in the tests).

    cd training && /usr/bin/python3 -m caspo_train.fixture --out DIR --tokenizer-dir TOKDIR \\
        --prompt-ids-json PROMPT.json [--hidden 64 --layers 2 --heads 4 --kv-heads 2 --seed 0]

Builds a Llama-layout CausalLM with grouped-query attention (fewer KV heads than query heads),
Qwen3's vocabulary size (151,936) and tied embeddings, and exports it with `export_model_folder`
(config.json, generation_config.json, tokenizer.json + tokenizer_config.json copied from TOKDIR,
onnx/model.onnx, parity.json). bos/eos/pad come from TOKDIR/tokenizer_config.json; Qwen3 has no
bos token, so bos_token_id is written as null.

The prompt ids come from outside (Python here has no tokenizer for Qwen3): PROMPT.json is either
a JSON list of ids or {"ids": [...], "text": "..."} (scripts/make-fixtures.mjs renders the chat
template with @huggingface/tokenizers + @huggingface/jinja and writes it).

Weights are not the training init: with std-0.02 weights and tied embeddings the residual stream
is dominated by the current token's own embedding and greedy decoding repeats the last prompt
token forever, which would make any parity check trivially pass. Here embeddings have std 0.5 and
every projection std 2/sqrt(fan_in), so the 40 greedy tokens are all different and depend on the
attention over the whole context. The smallest top-1/top-2 logit gap along the greedy trace is
checked (--min-margin) so that float-level differences between runtimes cannot flip an argmax.

parity.json keeps the logits at a fixed subset of the vocabulary (`logit_indices`): every
--logit-stride-th id, plus the greedy ids and the runner-up id of every row.
A summary (parameters, margins, timings) goes to fixture.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path
from typing import List, Optional, Sequence

import torch

from .export import PARITY_STEPS, export_model_folder
from .model import CausalLM, ModelConfig, count_parameters

QWEN3_VOCAB_SIZE = 151936


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--tokenizer-dir", required=True, help="folder with tokenizer.json and tokenizer_config.json")
    ap.add_argument("--prompt-ids-json", required=True, help="parity prompt: JSON list of ids or {ids, text}")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--intermediate", type=int, default=None, help="MLP width (default 2*hidden)")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--vocab-size", type=int, default=QWEN3_VOCAB_SIZE)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--embed-std", type=float, default=0.5)
    ap.add_argument("--proj-gain", type=float, default=2.0, help="projection weights ~ N(0, (gain/sqrt(fan_in))^2)")
    ap.add_argument("--logit-stride", type=int, default=297, help="keep every N-th vocabulary logit in parity.json")
    ap.add_argument("--min-margin", type=float, default=1e-3,
                    help="fail if a greedy step's top-1/top-2 logit gap is smaller (0 disables)")
    args = ap.parse_args(argv)
    if not 0 < args.kv_heads < args.heads or args.heads % args.kv_heads:
        ap.error("GQA fixture: --kv-heads must be smaller than --heads and divide it")
    if args.hidden % args.heads or (args.hidden // args.heads) % 2:
        ap.error("--hidden must be a multiple of --heads with an even head size")
    return args


def token_id(value, tok_config: dict, tok_json: dict, field: str) -> Optional[int]:
    """Id of a special token named in tokenizer_config.json (a string, {content: ...} or null)."""
    if value is None:
        return None
    content = value["content"] if isinstance(value, dict) else value
    for key, entry in (tok_config.get("added_tokens_decoder") or {}).items():
        if entry.get("content") == content:
            return int(key)
    for entry in tok_json.get("added_tokens") or []:
        if entry.get("content") == content:
            return int(entry["id"])
    vocab = (tok_json.get("model") or {}).get("vocab")
    if isinstance(vocab, dict) and content in vocab:
        return int(vocab[content])
    raise SystemExit(f"tokenizer_config.json: {field} {content!r} is not a token of tokenizer.json")


def read_prompt(path: Path) -> tuple[List[int], Optional[str]]:
    data = json.loads(Path(path).read_text())
    ids, text = (data, None) if isinstance(data, list) else (data.get("ids"), data.get("text"))
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        raise SystemExit(f"{path}: expected a non-empty JSON list of token ids (or {{\"ids\": [...]}})")
    return ids, text


def fixture_init(model: CausalLM, embed_std: float, proj_gain: float) -> None:
    for name, p in model.named_parameters():
        if p.dim() == 2:  # the embedding (tied with lm_head) and every projection; norms stay at 1
            std = embed_std if name.startswith("embed_tokens") else proj_gain / p.shape[1] ** 0.5
            torch.nn.init.normal_(p, std=std)


@torch.no_grad()
def greedy_margins(model: CausalLM, prompt_ids: Sequence[int], steps: int = PARITY_STEPS):
    """Same loop as export.greedy_reference, keeping the runner-up and the top-1/top-2 gap per row."""
    ids = torch.tensor([list(prompt_ids)], dtype=torch.int64)
    past = model.empty_past(1)
    mask = torch.ones(1, ids.shape[1], dtype=torch.int64)
    pos = torch.arange(ids.shape[1]).unsqueeze(0)
    generated, runners_up, margins, scale = [], [], [], 0.0
    for step in range(steps + 1):
        logits, past = model.forward_cached(ids, mask, pos, past)
        row = logits[0, -1]
        top = torch.topk(row, 2)
        margins.append(float(top.values[0] - top.values[1]))
        runners_up.append(int(top.indices[1]))
        scale = max(scale, float(row.std()))
        if step == steps:
            break
        nxt = int(top.indices[0])
        generated.append(nxt)
        total = mask.shape[1]
        ids = torch.tensor([[nxt]], dtype=torch.int64)
        pos = torch.tensor([[total]], dtype=torch.int64)
        mask = torch.ones(1, total + 1, dtype=torch.int64)
    return generated, runners_up, margins, scale


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.time()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    tok_dir, out = Path(args.tokenizer_dir), Path(args.out)
    tok_config = json.loads((tok_dir / "tokenizer_config.json").read_text())
    tok_json = json.loads((tok_dir / "tokenizer.json").read_text())
    bos = token_id(tok_config.get("bos_token"), tok_config, tok_json, "bos_token")
    eos = token_id(tok_config.get("eos_token"), tok_config, tok_json, "eos_token")
    pad = token_id(tok_config.get("pad_token"), tok_config, tok_json, "pad_token")
    if eos is None:
        raise SystemExit("tokenizer_config.json has no eos_token")
    prompt_ids, prompt_text = read_prompt(Path(args.prompt_ids_json))
    top_id = max([i for i in (bos, eos, pad) if i is not None] + prompt_ids)
    if top_id >= args.vocab_size:
        raise SystemExit(f"token id {top_id} does not fit --vocab-size {args.vocab_size}")

    torch.manual_seed(args.seed)
    cfg = ModelConfig(vocab_size=args.vocab_size, hidden_size=args.hidden,
                      intermediate_size=args.intermediate or 2 * args.hidden, num_hidden_layers=args.layers,
                      num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                      max_position_embeddings=512, tie_word_embeddings=True)
    model = CausalLM(cfg).eval()
    fixture_init(model, args.embed_std, args.proj_gain)

    generated, runners_up, margins, scale = greedy_margins(model, prompt_ids)
    if args.min_margin and min(margins) < args.min_margin:
        raise SystemExit(f"greedy trace has a top-1/top-2 logit gap of {min(margins):.3g} (< --min-margin "
                         f"{args.min_margin}): argmax could flip between runtimes; pick another --seed")
    indices = sorted(set(range(0, args.vocab_size, args.logit_stride)) | set(generated) | set(runners_up))

    export_start = time.time()
    export_model_folder(model, out, tokenizer_files=tok_dir, bos=bos, eos=eos, pad=pad, parity_prompt=prompt_ids,
                        extra_config={"model_type": "llama", "architectures": ["LlamaForCausalLM"]},
                        parity_logit_indices=indices)
    parity = json.loads((out / "parity.json").read_text())
    if parity["generated_ids"] != generated:
        raise SystemExit("export.greedy_reference disagrees with the fixture's own greedy loop")
    export_s = time.time() - export_start

    onnx_path = out / "onnx" / "model.onnx"
    summary = {
        "fixture": "random-weight GQA Llama-layout model with a real tokenizer (caspo_train.fixture)",
        "parameters": count_parameters(model),
        "config": {"vocab_size": cfg.vocab_size, "hidden_size": cfg.hidden_size,
                   "intermediate_size": cfg.intermediate_size, "num_hidden_layers": cfg.num_hidden_layers,
                   "num_attention_heads": cfg.num_attention_heads, "num_key_value_heads": cfg.num_key_value_heads,
                   "head_dim": cfg.head_dim, "tie_word_embeddings": cfg.tie_word_embeddings},
        "init": {"seed": args.seed, "embed_std": args.embed_std, "proj_gain": args.proj_gain},
        "special_tokens": {"bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad},
        "prompt_text": prompt_text,
        "prompt_ids": prompt_ids,
        "greedy_distinct": len(set(generated)),
        "eos_in_greedy": eos in generated,
        "min_top2_margin": round(min(margins), 6),
        "top2_margins": [round(m, 6) for m in margins],
        "logit_std_max": round(scale, 4),
        "parity_logit_indices": len(indices),
        "tokenizer_sha256": sha256(tok_dir / "tokenizer.json"),
        "onnx_bytes": onnx_path.stat().st_size,
        "export_s": round(export_s, 2),
        "total_s": round(time.time() - start, 2),
        "torch": torch.__version__,
    }
    (out / "fixture.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({"wrote": str(out), "parameters": summary["parameters"], "onnx_bytes": summary["onnx_bytes"],
                      "min_top2_margin": summary["min_top2_margin"], "total_s": summary["total_s"]}), flush=True)


if __name__ == "__main__":
    main()
