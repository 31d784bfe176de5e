"""Training batches and the held-out split for the arithmetic domain."""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Iterator, List, Tuple

import torch

from . import tokenizer as tok
from .arith import evaluate, extract_expression, is_heldout, parse_expression, problem_features, random_problem, solution_text

HELDOUT_SEED = 20261126


def training_example(rng: random.Random) -> Tuple[List[int], int]:
    """(token ids, prompt length): prompt + solution + EOS, never a held-out expression."""
    while True:
        problem = random_problem(rng)
        expr = extract_expression(problem)
        if not is_heldout(expr):
            break
    prompt = tok.prompt_ids(problem)
    return prompt + tok.encode(solution_text(expr)) + [tok.EOS_ID], len(prompt)


def make_batch(rng: random.Random, batch_size: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and a loss mask that covers the solution and EOS only."""
    examples = [training_example(rng) for _ in range(batch_size)]
    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((batch_size, width), tok.PAD_ID, dtype=torch.int64)
    loss_mask = torch.zeros((batch_size, width), dtype=torch.bool)
    for row, (seq, prompt_len) in enumerate(examples):
        ids[row, : len(seq)] = torch.tensor(seq)
        loss_mask[row, prompt_len: len(seq)] = True
    return ids, loss_mask


class BatchStream(torch.utils.data.IterableDataset):
    """An endless stream of batches; each DataLoader worker draws from its own seed."""

    def __init__(self, batch_size: int, seed: int):
        super().__init__()
        self.batch_size = batch_size
        self.seed = seed

    def __iter__(self) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        rng = random.Random(self.seed * 1000 + (info.id if info else 0))
        while True:
            yield make_batch(rng, self.batch_size)


def heldout_problems(n: int, seed: int = HELDOUT_SEED) -> List[dict]:
    """The fixed held-out split: the first n generated problems whose expression hashes into it."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        problem = random_problem(rng)
        expr = extract_expression(problem)
        if is_heldout(expr):
            row = {"problem": problem, "answer": str(evaluate(parse_expression(expr)))}
            row.update(problem_features(problem))
            out.append(row)
    return out


def write_jsonl(rows: List[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def read_jsonl(path: Path) -> List[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
