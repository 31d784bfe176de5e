"""Step-wise DPO (Rafailov et al. 2023) on CASPO's preference pairs, against a frozen reference model.

For a pair (context x, chosen step c, rejected step r) with policy pi and reference pi_ref:

    loss = -log sigmoid(beta * [(log pi(c|x) - log pi_ref(c|x)) - (log pi(r|x) - log pi_ref(r|x))])
           + alpha * (-log pi(c|x) / |c|) + gamma * NLL(replay batch)

log pi(s|x) sums the log-probabilities of the step's tokens only. The second term (alpha, a
per-token NLL of the chosen step, as in RPO) keeps the chosen steps likely in absolute terms; the
third (gamma) replays a small batch of ordinary training solutions each step, so that the pairs,
which all sit where the model errs, do not pull its in-domain behaviour with them (measured: without
it, one iteration at lr 1e-4 took held-out accuracy from 99.2 % to 70.8 %). No reward model.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F

from . import tokenizer as tok
from .data import make_batch
from .model import CausalLM
from .pairs import Pair


@dataclass
class DPOConfig:
    beta: float = 0.1
    alpha: float = 0.2
    lr: float = 5e-5
    epochs: int = 2
    batch_pairs: int = 32
    seed: int = 0
    weight_decay: float = 0.0
    gamma: float = 1.0
    replay_batch: int = 16


def _batch(sequences: Sequence[Tuple[List[int], List[int]]]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids of context+step and a mask over the positions that predict step tokens."""
    width = max(len(c) + len(s) for c, s in sequences)
    ids = torch.full((len(sequences), width), tok.PAD_ID, dtype=torch.int64)
    target_mask = torch.zeros((len(sequences), width), dtype=torch.bool)
    for row, (context, step) in enumerate(sequences):
        full = context + step
        ids[row, : len(full)] = torch.tensor(full)
        target_mask[row, len(context): len(full)] = True
    return ids, target_mask


def sequence_log_probs(model: CausalLM, sequences: Sequence[Tuple[List[int], List[int]]]
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
    """(sum of the step tokens' log-probs, number of step tokens) per (context, step)."""
    device = next(model.parameters()).device
    ids, target_mask = (t.to(device) for t in _batch(sequences))
    logits = model(ids[:, :-1]).float()
    log_probs = torch.log_softmax(logits, dim=-1).gather(2, ids[:, 1:].unsqueeze(2)).squeeze(2)
    mask = target_mask[:, 1:]
    return (log_probs * mask).sum(1), mask.sum(1)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mean DPO loss and the per-pair implicit reward margins."""
    margin = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
    return -F.logsigmoid(margin).mean(), margin.detach()


@torch.no_grad()
def reference_log_probs(model: CausalLM, pairs: Sequence[Pair], batch_pairs: int = 128) -> torch.Tensor:
    """[N, 2] log pi_ref of (chosen, rejected) for every pair."""
    model.eval()
    out = []
    for begin in range(0, len(pairs), batch_pairs):
        chunk = pairs[begin: begin + batch_pairs]
        seqs = [(p.context, p.chosen) for p in chunk] + [(p.context, p.rejected) for p in chunk]
        lp, _ = sequence_log_probs(model, seqs)
        out.append(torch.stack([lp[: len(chunk)], lp[len(chunk):]], dim=1))
    return torch.cat(out) if out else torch.zeros((0, 2), device=next(model.parameters()).device)


def train_dpo(policy: CausalLM, reference: CausalLM, pairs: Sequence[Pair], cfg: DPOConfig, log=print) -> Dict:
    """Trains ``policy`` in place; ``reference`` stays frozen. Returns the run's statistics."""
    if not pairs:
        return {"pairs": 0, "steps": 0, "wall_s": 0.0, "log": []}
    start = time.time()
    ref = reference_log_probs(reference, pairs)
    opt = torch.optim.AdamW(policy.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=cfg.weight_decay)
    order = list(range(len(pairs)))
    rng = random.Random(cfg.seed)
    replay_rng = random.Random(cfg.seed + 7919)
    steps_total = cfg.epochs * math.ceil(len(pairs) / cfg.batch_pairs)
    step = 0
    history = []
    for epoch in range(cfg.epochs):
        rng.shuffle(order)
        policy.train()
        for begin in range(0, len(order), cfg.batch_pairs):
            index = order[begin: begin + cfg.batch_pairs]
            chunk = [pairs[i] for i in index]
            seqs = [(p.context, p.chosen) for p in chunk] + [(p.context, p.rejected) for p in chunk]
            lp, lengths = sequence_log_probs(policy, seqs)
            n = len(chunk)
            rows = torch.tensor(index, device=ref.device)
            loss, margin = dpo_loss(lp[:n], lp[n:], ref[rows, 0], ref[rows, 1], cfg.beta)
            nll = -(lp[:n] / lengths[:n]).mean()
            total = loss + cfg.alpha * nll
            replay = torch.zeros((), device=lp.device)
            if cfg.gamma > 0 and cfg.replay_batch > 0:
                ids, loss_mask = (t.to(lp.device) for t in make_batch(replay_rng, cfg.replay_batch))
                logits = policy(ids[:, :-1]).float()
                targets = ids[:, 1:].masked_fill(~loss_mask[:, 1:], -100)
                replay = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
                total = total + cfg.gamma * replay
            for group in opt.param_groups:  # linear warm-up over 5 % of the steps, then cosine to 10 %
                warm = min(1.0, (step + 1) / max(1, steps_total // 20))
                group["lr"] = cfg.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps_total)))
            opt.zero_grad(set_to_none=True)
            total.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt.step()
            step += 1
            if step == 1 or step % 25 == 0 or step == steps_total:
                entry = {"step": step, "epoch": epoch, "dpo_loss": round(loss.item(), 4), "nll": round(nll.item(), 4), "replay": round(replay.item(), 4),
                         "margin": round(margin.mean().item(), 4),
                         "pair_accuracy": round((margin > 0).float().mean().item(), 3),
                         "elapsed_s": round(time.time() - start, 1)}
                history.append(entry)
                log(entry)
    policy.eval()
    return {"pairs": len(pairs), "steps": step, "wall_s": round(time.time() - start, 1), "log": history}
