"""Confidence-filtered step-wise preference pairs (CASPO, design §6), built at shared prefixes.

For one problem, the K sampled solutions form a tree: two samples share a prefix while their
generated tokens agree. Only prefixes whose steps are all correct are used (after an error the
state is already wrong). At such a prefix, for every distinct *first wrong step* W sampled there:

- ``confident_wrong``: W's confidence is at least ``tau`` and a sampled correct sibling exists.
  Chosen: the *least confident* correct sibling -- a correct but low-confidence step is preferred
  over a confidently wrong one.
- ``first_error``: otherwise, the correct continuation is preferred over W: the most confident
  sampled correct sibling when there is one, else the step the verifier makes from W (the same
  operation with the right result, or the next ready operation, or the answer line).

"Confidence" is ``Step.filter_confidence``: the engine's step confidence when the samples were annotated
with the sampling model's caspo.json (``sample.annotate``; the pipeline's default), so ``tau`` = 0.5 means
"W would survive CaT's pruning at its default threshold"; unannotated samples fall back to the raw
geoMeanProb, on which nearly every wrong step of the SFT model scores above 0.5.

Every pair is a context (prompt + shared prefix token ids) and two single steps (token ids); the
DPO loss compares their log-probabilities given the context. Pairs are unique per
(context, chosen, rejected).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from . import tokenizer as tok
from .arith import (ANSWER_RE, STEP_RE, BinOp, Num, _matches, apply_op, extract_expression, format_step, parse_expression,
                    ready_ops, replace)
from .sample import Sample, Step

KINDS = ("confident_wrong", "first_error")
DEFAULT_TAU = 0.5


@dataclass
class Pair:
    problem: str
    context: List[int]  # prompt + prefix, token ids
    chosen: List[int]
    rejected: List[int]
    kind: str
    chosen_text: str
    rejected_text: str
    chosen_confidence: Optional[float]  # the filter's confidence (Step.filter_confidence); None for a verifier-made step
    rejected_confidence: float
    chosen_source: str  # "sample" | "verifier"
    step_index: int

    def to_json(self) -> dict:
        return asdict(self)


def corrected_step(problem: str, prefix: Sequence[str], wrong: str) -> str:
    """The verifier's correct step in place of ``wrong`` after the (correct) ``prefix`` steps."""
    state = parse_expression(extract_expression(problem))
    for line in prefix:
        m = STEP_RE.match(line)
        if not m:
            raise ValueError(f"prefix step {line!r} is not an 'a op b = c' step")
        a, op, b, c = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
        op = "*" if op in "×x" else op
        target = next((t for t in ready_ops(state) if _matches(t, op, a, b)), None)
        if target is None or apply_op(op, a, b) != c:
            raise ValueError(f"prefix step {line!r} is not correct")
        state = replace(state, target, c)
    if isinstance(state, Num):
        return f"Answer: {state.value}"
    m = STEP_RE.match(wrong)
    if m and not ANSWER_RE.match(wrong):
        a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
        op = "*" if op in "×x" else op
        if any(_matches(t, op, a, b) for t in ready_ops(state)):
            return format_step(op, a, b, apply_op(op, a, b))  # the model's operation, the right result
    target: BinOp = ready_ops(state)[0]
    a, b = target.left.value, target.right.value  # type: ignore[union-attr]
    return format_step(target.op, a, b, apply_op(target.op, a, b))


def step_ids(text: str) -> List[int]:
    """Token ids of a step as the model writes it: the line and its newline, or the answer and EOS."""
    return tok.encode(text) + ([tok.EOS_ID] if ANSWER_RE.match(text) else tok.encode("\n"))


@dataclass
class _Candidate:
    ids: Tuple[int, ...]
    step: Step


def build_pairs(samples: Sequence[Sample], tau: float = DEFAULT_TAU) -> List[Pair]:
    """Pairs from the samples of ONE problem (see the module doc)."""
    if not samples:
        return []
    problem = samples[0].problem
    if any(s.problem != problem for s in samples):
        raise ValueError("build_pairs takes the samples of one problem")
    prompt = tok.prompt_ids(problem)
    # prefix (token ids before the step) -> distinct next steps sampled there, each sample's prefix all correct
    siblings: Dict[Tuple[int, ...], Dict[Tuple[int, ...], _Candidate]] = {}
    prefix_texts: Dict[Tuple[int, ...], List[str]] = {}
    for sample in samples:
        ids = sample.token_ids
        # A sample cut off by the token limit ends in a cut step ("4 * 5 = 2"): no pair is made of it.
        steps = sample.steps if sample.finished else sample.steps[:-1]
        for step in steps:
            if step.correct is None:
                break  # after the answer line: not a step of the solution
            prefix = tuple(ids[: step.start])
            own = tuple(ids[step.start: step.end])
            siblings.setdefault(prefix, {}).setdefault(own, _Candidate(own, step))
            prefix_texts.setdefault(prefix, [s.text for s in sample.steps[: step.index]])
            if not step.correct:
                break  # later steps sit on a wrong state
    pairs: List[Pair] = []
    seen = set()
    for prefix, candidates in siblings.items():
        correct = [c for c in candidates.values() if c.step.correct]
        wrong = [c for c in candidates.values() if not c.step.correct]
        for w in wrong:
            pair = _pair_for(problem, prompt, prefix, prefix_texts[prefix], w, correct, tau)
            key = (tuple(pair.context), tuple(pair.chosen), tuple(pair.rejected))
            if pair.chosen != pair.rejected and key not in seen:
                seen.add(key)
                pairs.append(pair)
    pairs.sort(key=lambda p: (p.step_index, p.kind, p.rejected_text, p.chosen_text))
    return pairs


def _pair_for(problem: str, prompt: List[int], prefix: Tuple[int, ...], prefix_texts: List[str], w: _Candidate,
              correct: List[_Candidate], tau: float) -> Pair:
    context = prompt + list(prefix)
    base = dict(problem=problem, context=context, rejected=list(w.ids), rejected_text=w.step.text,
                rejected_confidence=w.step.filter_confidence, step_index=w.step.index)
    if correct and w.step.filter_confidence >= tau:
        c = min(correct, key=lambda x: (x.step.filter_confidence, x.ids))
        return Pair(chosen=list(c.ids), kind="confident_wrong", chosen_text=c.step.text,
                    chosen_confidence=c.step.filter_confidence, chosen_source="sample", **base)
    if correct:
        c = max(correct, key=lambda x: (x.step.filter_confidence, x.ids))
        return Pair(chosen=list(c.ids), kind="first_error", chosen_text=c.step.text,
                    chosen_confidence=c.step.filter_confidence, chosen_source="sample", **base)
    text = corrected_step(problem, prefix_texts, w.step.text)
    return Pair(chosen=step_ids(text), kind="first_error", chosen_text=text, chosen_confidence=None,
                chosen_source="verifier", **base)


def count_pairs(pairs: Iterable[Pair]) -> Dict[str, int]:
    counts = {kind: 0 for kind in KINDS}
    counts["verifier_chosen"] = 0
    for p in pairs:
        counts[p.kind] += 1
        counts["verifier_chosen"] += p.chosen_source == "verifier"
    counts["total"] = counts["confident_wrong"] + counts["first_error"]
    return counts


def group_by_problem(samples: Sequence[Sample]) -> List[List[Sample]]:
    groups: Dict[str, List[Sample]] = {}
    for s in samples:
        groups.setdefault(s.problem, []).append(s)
    return list(groups.values())
