"""Step-calibration metrics with the engine's definitions (language-server/src/eval/metrics.ts), for the
pipeline's PyTorch progress checks: ECE over equal-width bins and AUROC by average ranks."""
from __future__ import annotations

from typing import Optional, Sequence


def expected_calibration_error(conf: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Sum over equal-width bins of |accuracy - mean confidence|, weighted by the bin's share."""
    if len(conf) != len(correct):
        raise ValueError(f"{len(conf)} confidences for {len(correct)} labels")
    count, conf_sum, right = [0] * bins, [0.0] * bins, [0] * bins
    for c, ok in zip(conf, correct):
        if not 0 <= c <= 1:
            raise ValueError(f"confidence {c} outside [0, 1]")
        b = min(int(c * bins), bins - 1)  # c = 1 joins the last bin
        count[b] += 1
        conf_sum[b] += c
        right[b] += bool(ok)
    n = len(conf)
    return sum(k / n * abs(r / k - s / k) for k, s, r in zip(count, conf_sum, right) if k)


def auroc(scores: Sequence[float], correct: Sequence[bool]) -> Optional[float]:
    """P(a random correct item outscores a random wrong one), ties half; None with one class only."""
    if len(scores) != len(correct):
        raise ValueError(f"{len(scores)} scores for {len(correct)} labels")
    positives = sum(bool(c) for c in correct)
    negatives = len(correct) - positives
    if positives == 0 or negatives == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and scores[order[end]] == scores[order[start]]:
            end += 1
        average = (start + 1 + end) / 2
        rank_sum += sum(average for k in range(start, end) if correct[order[k]])
        start = end
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
