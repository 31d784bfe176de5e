"""Greedy evaluation of a CausalLM on held-out problems, with accuracy per problem kind."""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, List

import torch

from . import tokenizer as tok
from .arith import verify_solution
from .model import CausalLM


def left_padded_prompts(problems: List[str]):
    """Prompt ids left-padded to one width, their attention mask and position ids (the cached path's inputs)."""
    prompts = [tok.prompt_ids(p) for p in problems]
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), tok.PAD_ID, dtype=torch.int64)
    mask = torch.zeros_like(ids)
    for row, p in enumerate(prompts):
        ids[row, width - len(p):] = torch.tensor(p)
        mask[row, width - len(p):] = 1
    return ids, mask, (mask.cumsum(1) - 1).clamp(min=0)


@torch.no_grad()
def greedy_solve(model: CausalLM, problems: List[str], max_new_tokens: int = 160, device=None) -> List[str]:
    """Batched greedy decoding with left padding and the KV cache (the exported graph's path), on the
    model's device unless ``device`` says otherwise."""
    model = model.eval()
    device = device or next(model.parameters()).device
    ids, mask, pos = left_padded_prompts(problems)
    ids, mask, pos = ids.to(device), mask.to(device), pos.to(device)
    past = model.empty_past(len(problems), device=device)
    out = [[] for _ in problems]
    done = torch.zeros(len(problems), dtype=torch.bool, device=device)
    for _ in range(max_new_tokens):
        logits, past = model.forward_cached(ids, mask, pos, past)
        nxt = logits[:, -1].argmax(-1)
        for row, t in enumerate(nxt.tolist()):
            if not done[row]:
                out[row].append(t)
        done |= nxt == tok.EOS_ID
        if bool(done.all()):
            break
        ids = nxt.unsqueeze(1)
        pos = pos[:, -1:] + 1
        mask = torch.cat([mask, torch.ones_like(ids)], dim=1)
    return [tok.decode([t for t in seq if t != tok.EOS_ID]) for seq in out]


def evaluate_heldout(model: CausalLM, rows: List[dict], device="cpu", batch_size: int = 250) -> Dict:
    """Exact-answer accuracy overall and by number of operations / multiplication / parentheses."""
    buckets = defaultdict(lambda: [0, 0])
    step_total = step_correct = 0
    for start in range(0, len(rows), batch_size):
        chunk = rows[start: start + batch_size]
        solutions = greedy_solve(model, [r["problem"] for r in chunk], device=device)
        for row, solution in zip(chunk, solutions):
            verdict = verify_solution(row["problem"], solution)
            ok = verdict.answer_correct
            step_total += len(verdict.steps)
            step_correct += sum(s.correct for s in verdict.steps)
            for key in ("all", f"ops={row['ops']}", "mul" if row["mul"] else "no mul",
                        "parens" if row["parens"] else "no parens"):
                buckets[key][0] += int(ok)
                buckets[key][1] += 1
    return {
        "n": len(rows),
        "accuracy": buckets["all"][0] / max(1, buckets["all"][1]),
        "step_accuracy": step_correct / max(1, step_total),
        "by_kind": {k: {"correct": c, "n": n, "accuracy": c / n} for k, (c, n) in sorted(buckets.items())},
    }
