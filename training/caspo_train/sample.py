"""Sampled solutions with per-token confidence computed as the Node engine computes it, split into
steps and labelled by the verifier: the raw material of CASPO's preference pairs.

The engine (language-server/src/decoding/confidence.ts, stepConfidence.ts, steps.ts) reads each
token's confidence from the full distribution of the *unscaled* logits (temperature only changes
which token is drawn): the chosen token's log-probability, the entropy in nats and the top-5
log-probabilities, all in float64 from the float32 logits. A step is the tokens up to and including
the newline that closes it (blank lines are dropped); the last step also holds the end-of-sequence
token. Step scores:

- geoMeanProb = exp(mean token log-prob) -- the embedded model's default metric;
- minProb = the lowest chosen-token probability;
- meanEntropy = -(mean token entropy);
- deepConf = mean over tokens of -(mean of the top-5 log-probs).

``test_caspo.py`` checks these numbers against ``caspo solve --json`` on an exported model.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch: with 2 torch threads, more BLAS threads oversubscribe

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from . import tokenizer as tok
from .arith import verify_solution
from .evaluate import left_padded_prompts
from .model import CausalLM

TOP_K = 5
METRICS = ("meanEntropy", "geoMeanProb", "minProb", "deepConf")
NEWLINE = tok.encode("\n")[0]


@dataclass
class TokenRecord:
    id: int
    log_prob: float
    entropy: float
    top_log_probs: List[float]


@dataclass
class Step:
    index: int
    text: str
    start: int  # index into the sample's generated tokens
    end: int  # exclusive
    scores: Dict[str, float]
    correct: Optional[bool] = None
    reason: str = ""
    engine_confidence: Optional[float] = None  # set by annotate(): what the engine shows and CaT prunes on

    @property
    def confidence(self) -> float:
        return self.scores["geoMeanProb"]

    @property
    def filter_confidence(self) -> float:
        """The confidence CASPO's pair filter compares with tau: the engine's when annotated, else geoMeanProb."""
        return self.confidence if self.engine_confidence is None else self.engine_confidence


@dataclass
class Sample:
    problem: str
    answer: str
    tokens: List[TokenRecord]
    steps: List[Step] = field(default_factory=list)
    answer_correct: bool = False
    finished: bool = True

    @property
    def token_ids(self) -> List[int]:
        return [t.id for t in self.tokens]


def step_scores(tokens: Sequence[TokenRecord]) -> Dict[str, float]:
    if not tokens:
        raise ValueError("a step needs at least one token")
    n = len(tokens)
    return {
        "geoMeanProb": math.exp(sum(t.log_prob for t in tokens) / n),
        "minProb": min(math.exp(t.log_prob) for t in tokens),
        "meanEntropy": -sum(t.entropy for t in tokens) / n,
        "deepConf": sum(-sum(t.top_log_probs) / len(t.top_log_probs) for t in tokens) / n,
    }


class EngineConfidence:
    """The step confidence the engine shows and CaT prunes on (language-server/src/decoding/stepConfidence.ts,
    ``ConfidenceCalibration.toConfidence``): a model folder's ``caspo.json`` default metric through its fitted
    Platt map, sigmoid(a * score + b); a metric without a fitted map gets the engine's fixed default."""

    def __init__(self, metric: str, platt: Optional[Dict[str, float]], source: str = ""):
        if metric not in METRICS:
            raise ValueError(f"unknown step metric {metric!r} (one of {', '.join(METRICS)})")
        self.metric, self.platt, self.source = metric, platt, source

    @classmethod
    def from_model_dir(cls, folder) -> Optional["EngineConfidence"]:
        """The folder's caspo.json, or None when the folder has none (a model not yet calibrated)."""
        path = Path(folder) / "caspo.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        metric = data.get("defaultMetric", "meanEntropy")  # the engine's default without one
        platt = (data.get("calibration") or {}).get(metric)
        if platt is not None and platt.get("type", "platt") != "platt":
            raise ValueError(f"{path}: calibration of {metric} is {platt.get('type')!r}, not a Platt map")
        return cls(metric, platt, source=str(path))

    def __call__(self, scores: Dict[str, float]) -> float:
        score = scores[self.metric]
        if self.platt is not None:
            z = self.platt["a"] * score + self.platt["b"]
            return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        if self.metric == "meanEntropy":
            return math.exp(min(0.0, score))
        if self.metric == "deepConf":
            floor, scale = math.log(TOP_K), math.log(tok.VOCAB_SIZE)
            return min(1.0, max(0.0, 1 - math.exp(-max(0.0, score - floor) / scale)))
        return min(1.0, max(0.0, score))

    def describe(self) -> str:
        how = "its Platt map" if self.platt is not None else "the engine's default map"
        return f"{self.metric} through {how}" + (f" ({self.source})" if self.source else "")


def annotate(samples: Sequence[Sample], engine: Optional[EngineConfidence]) -> None:
    """Sets every step's engine confidence (None: leaves them unset, so filters fall back to geoMeanProb)."""
    for sample in samples:
        for step in sample.steps:
            step.engine_confidence = None if engine is None else engine(step.scores)


def segment(tokens: Sequence[TokenRecord]) -> List[Step]:
    """The engine's StepSegmenter for byte tokens: a newline token closes (and belongs to) a step."""
    steps: List[Step] = []
    start = 0

    def close(end: int) -> None:
        text = tok.decode([t.id for t in tokens[start:end]]).strip()
        if text:
            steps.append(Step(len(steps), text, start, end, step_scores(tokens[start:end])))

    for i, t in enumerate(tokens):
        if t.id == NEWLINE:
            close(i + 1)
            start = i + 1
    if start < len(tokens):
        close(len(tokens))
    return steps


def label(sample: Sample) -> Sample:
    """Labels every step with the verifier (lines = the segmenter's non-blank steps)."""
    text = "\n".join(s.text for s in sample.steps)
    verdict = verify_solution(sample.problem, text)
    # Lines after the answer line are not steps of the solution (the engine stops at the answer line):
    # they stay unlabelled (None), out of the pairs and the calibration numbers.
    for step in sample.steps:
        step.correct, step.reason = None, "after the answer line"
    for lab in verdict.steps:
        sample.steps[lab.index].correct = lab.correct
        sample.steps[lab.index].reason = lab.reason
    sample.answer_correct = verdict.answer_correct and sample.finished
    return sample


@torch.no_grad()
def sample_solutions(model: CausalLM, rows: Sequence[dict], samples: int, temperature: float, seed: int,
                     max_new_tokens: int = 160, batch_rows: Optional[int] = None) -> List[Sample]:
    """``samples`` solutions per problem (temperature 0 = greedy), labelled, in problem order."""
    model = model.eval()
    device = next(model.parameters()).device  # CPU draws are reproducible run to run; a GPU's are its own
    gen = torch.Generator(device=device).manual_seed(seed)
    batch_rows = batch_rows or (2048 if device.type == "cuda" else 256)
    jobs = [row for row in rows for _ in range(samples)]
    out: List[Sample] = []
    for begin in range(0, len(jobs), batch_rows):
        chunk = jobs[begin: begin + batch_rows]
        out.extend(_decode_batch(model, chunk, temperature, gen, max_new_tokens))
    return [label(s) for s in out]


def _decode_batch(model: CausalLM, rows: Sequence[dict], temperature: float, gen: torch.Generator,
                  max_new_tokens: int) -> List[Sample]:
    device = gen.device
    ids, mask, pos = (t.to(device) for t in left_padded_prompts([r["problem"] for r in rows]))
    past = model.empty_past(len(rows), device=device)
    records: List[List[TokenRecord]] = [[] for _ in rows]
    live = torch.arange(len(rows), device=device)  # which rows of `rows` the batch still holds
    for _ in range(max_new_tokens):
        logits, past = model.forward_cached(ids, mask, pos, past)
        raw = logits[:, -1].double()
        log_probs = torch.log_softmax(raw, dim=-1)
        entropy = -(log_probs.exp() * log_probs).sum(-1)
        if temperature > 0:
            nxt = torch.multinomial(torch.softmax(raw / temperature, dim=-1), 1, generator=gen).squeeze(1)
        else:
            nxt = raw.argmax(-1)
        chosen = log_probs.gather(1, nxt.unsqueeze(1)).squeeze(1)
        top = log_probs.topk(TOP_K, dim=-1).values.tolist()
        for slot, (row, t, lp, h) in enumerate(zip(live.tolist(), nxt.tolist(), chosen.tolist(), entropy.tolist())):
            records[row].append(TokenRecord(t, lp, h, top[slot]))
        keep = nxt != tok.EOS_ID
        if not bool(keep.any()):
            break
        ids = nxt.unsqueeze(1)
        pos = pos[:, -1:] + 1
        mask = torch.cat([mask, torch.ones_like(ids)], dim=1)
        if not bool(keep.all()):  # finished rows leave the batch
            live, ids, pos, mask = live[keep], ids[keep], pos[keep], mask[keep]
            past = [(k[keep], v[keep]) for k, v in past]
    samples = []
    for row, toks in zip(rows, records):
        finished = bool(toks) and toks[-1].id == tok.EOS_ID
        sample = Sample(row["problem"], str(row["answer"]), toks, finished=finished)
        sample.steps = segment(toks)
        samples.append(sample)
    return samples


def sample_to_json(sample: Sample, model_name: str, evidence: bool = True) -> dict:
    """One row of the released dataset (schema in training/data/caspo/README.md)."""
    steps = []
    for s in sample.steps:
        entry = {"index": s.index, "text": s.text, "confidence": round(s.confidence, 6),
                 "scores": {k: round(v, 6) for k, v in s.scores.items()}, "correct": s.correct, "reason": s.reason}
        if s.engine_confidence is not None:
            entry["engineConfidence"] = round(s.engine_confidence, 6)
        if evidence:
            entry["tokens"] = [{"text": tok.decode([t.id]) if t.id < 256 else "", "id": t.id,
                                "logProb": float(f"{t.log_prob:.6g}"), "entropy": float(f"{t.entropy:.6g}")}
                               for t in sample.tokens[s.start: s.end]]
        steps.append(entry)
    return {"problem": sample.problem, "answer": sample.answer, "model": model_name,
            "solution": "\n".join(s.text for s in sample.steps), "answerCorrect": sample.answer_correct,
            "finished": sample.finished, "steps": steps}


def sample_from_json(row: dict) -> Sample:
    """A dataset row back as a Sample: tokens (without their top-k log-probs, which the row does not keep),
    steps with the row's scores, labels and engine confidence. Blank lines are not in any step, so
    their newline tokens are not in the rebuilt token ids."""
    tokens: List[TokenRecord] = []
    steps: List[Step] = []
    for st in row["steps"]:
        start = len(tokens)
        tokens += [TokenRecord(t["id"], t["logProb"], t["entropy"], []) for t in st["tokens"]]
        steps.append(Step(st["index"], st["text"], start, len(tokens), dict(st["scores"]), st["correct"],
                          st.get("reason", ""), st.get("engineConfidence")))
    sample = Sample(row["problem"], row["answer"], tokens, steps, row["answerCorrect"], row["finished"])
    return sample


def main(argv=None) -> None:
    """Prints the samples of one problem as dataset rows (JSON lines): the engine parity check's input.

    python3 -m caspo_train.sample --state checkpoints/caspo-arith-sft.pt --problem "12*3+4" --temperature 0
    """
    import argparse

    from .sft import SIZES

    ap = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    ap.add_argument("--state", required=True, help="state dict (.pt) of the model")
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--problem", required=True)
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-new-tokens", type=int, default=160)
    ap.add_argument("--engine-model", default=None,
                    help="model folder whose caspo.json gives each step's engineConfidence (the state's ONNX export)")
    args = ap.parse_args(argv)
    engine = None
    if args.engine_model:
        engine = EngineConfidence.from_model_dir(args.engine_model)
        if engine is None:
            ap.error(f"{args.engine_model} has no caspo.json")
    torch.set_num_threads(1)
    model = CausalLM(SIZES[args.size])
    model.load_state_dict(torch.load(args.state, map_location="cpu"))
    from .arith import evaluate, extract_expression, parse_expression
    row = {"problem": args.problem, "answer": evaluate(parse_expression(extract_expression(args.problem)))}
    samples = sample_solutions(model, [row], args.samples, args.temperature, args.seed, args.max_new_tokens)
    annotate(samples, engine)
    for s in samples:
        print(json.dumps(sample_to_json(s, args.state)))


if __name__ == "__main__":
    main()
