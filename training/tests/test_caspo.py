"""CASPO's pieces: step segmentation and confidence, the verifier-to-pairs logic on hand-made traces,
the DPO loss and the sign of its gradient, and the progress checks' step metrics (the pipeline: test_pipeline.py)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from caspo_train import tokenizer as tok
from caspo_train.align import DATA, main as align_main, sample_stats, step_report
from caspo_train.arith import extract_expression, is_heldout
from caspo_train.data import read_jsonl
from caspo_train.dpo import DPOConfig, dpo_loss, sequence_log_probs, train_dpo
from caspo_train.evaluate import greedy_solve
from caspo_train.metrics import auroc, expected_calibration_error
from caspo_train.arith import verify_solution
from caspo_train.model import CausalLM
from caspo_train.pairs import Pair, build_pairs, corrected_step, count_pairs, step_ids
from caspo_train.sample import (EngineConfidence, Sample, TokenRecord, annotate, label, sample_from_json, sample_to_json,
                                segment, step_scores)
from caspo_train.sft import SIZES

PROBLEM = "What is 2*3 + 4*5?"  # 2 * 3 = 6, 4 * 5 = 20, 6 + 20 = 26, Answer: 26

SFT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "caspo-arith-sft.pt"


def make_sample(lines, confidences, problem=PROBLEM):
    """A finished sample whose step i has geoMeanProb = confidences[i] (every token the same prob)."""
    tokens = []
    for i, (line, conf) in enumerate(zip(lines, confidences)):
        ids = tok.encode(line) + ([tok.EOS_ID] if i == len(lines) - 1 else tok.encode("\n"))
        tokens += [TokenRecord(t, math.log(conf), 0.1, [math.log(conf)] * 5) for t in ids]
    sample = Sample(problem, "26", tokens, finished=tokens[-1].id == tok.EOS_ID)
    sample.steps = segment(tokens)
    return label(sample)


CORRECT = ["2 * 3 = 6", "4 * 5 = 20", "6 + 20 = 26", "Answer: 26"]


# ---- segmentation and step confidence (the engine's rules) -------------------------------------

def test_segment_keeps_newline_and_eos_in_their_steps_and_drops_blank_lines():
    ids = tok.encode("2 * 3 = 6\n\n4 * 5 = 20\nAnswer: 26") + [tok.EOS_ID]
    tokens = [TokenRecord(t, -0.1, 0.0, [-0.1]) for t in ids]
    steps = segment(tokens)
    assert [s.text for s in steps] == ["2 * 3 = 6", "4 * 5 = 20", "Answer: 26"]
    assert ids[steps[0].end - 1] == tok.encode("\n")[0]
    assert steps[1].start == len("2 * 3 = 6\n\n")  # the blank line's newline belongs to no step
    assert steps[2].end == len(ids) and ids[steps[2].end - 1] == tok.EOS_ID


def test_step_scores_match_the_engine_definitions():
    tokens = [TokenRecord(1, math.log(0.5), 0.7, [math.log(0.5), math.log(0.25)]),
              TokenRecord(2, math.log(0.8), 0.1, [math.log(0.8), math.log(0.1)])]
    s = step_scores(tokens)
    assert s["geoMeanProb"] == pytest.approx(math.sqrt(0.5 * 0.8))
    assert s["minProb"] == pytest.approx(0.5)
    assert s["meanEntropy"] == pytest.approx(-0.4)
    assert s["deepConf"] == pytest.approx((-(math.log(0.5) + math.log(0.25)) / 2 - (math.log(0.8) + math.log(0.1)) / 2) / 2)


def test_labels_come_from_the_verifier():
    s = make_sample(["2 * 3 = 6", "4 * 5 = 21", "6 + 21 = 27", "Answer: 27"], [0.9] * 4)
    assert [st.correct for st in s.steps] == [True, False, True, True]  # later steps judged on the carried state
    assert not s.answer_correct
    row = sample_to_json(s, "m")
    assert row["steps"][1]["reason"] == "4 * 5 is 20, not 21"
    assert row["steps"][0]["confidence"] == pytest.approx(0.9)
    assert "".join(t["text"] for t in row["steps"][0]["tokens"]) == "2 * 3 = 6\n"


# ---- pairs on hand-made traces -----------------------------------------------------------------

def test_confident_wrong_step_loses_to_the_least_confident_correct_sibling():
    samples = [make_sample(CORRECT, [0.6, 0.99, 0.99, 0.99]),
               make_sample(CORRECT, [0.95, 0.99, 0.99, 0.99]),  # a second, more confident correct sibling
               make_sample(["2 * 3 = 5", "4 * 5 = 20", "5 + 20 = 25", "Answer: 25"], [0.9, 0.99, 0.99, 0.99])]
    # samples 0 and 1 share every token, so they are one candidate; give sample 1 a different first step
    samples[1] = make_sample(["4 * 5 = 20", "2 * 3 = 6", "20 + 6 = 26", "Answer: 26"], [0.95, 0.99, 0.99, 0.99])
    pairs = build_pairs(samples, tau=0.5)
    assert len(pairs) == 1
    p = pairs[0]
    assert (p.kind, p.chosen_text, p.rejected_text, p.chosen_source) == ("confident_wrong", "2 * 3 = 6", "2 * 3 = 5", "sample")
    assert p.chosen_confidence == pytest.approx(0.6) and p.rejected_confidence == pytest.approx(0.9)
    assert p.context == tok.prompt_ids(PROBLEM)
    assert p.chosen == tok.encode("2 * 3 = 6\n") and p.rejected == tok.encode("2 * 3 = 5\n")


def test_unconfident_wrong_step_is_a_first_error_pair_with_the_most_confident_correct_sibling():
    samples = [make_sample(CORRECT, [0.6] * 4),
               make_sample(["4 * 5 = 20", "2 * 3 = 6", "20 + 6 = 26", "Answer: 26"], [0.7] * 4),
               make_sample(["2 * 3 = 5", "4 * 5 = 20", "5 + 20 = 25", "Answer: 25"], [0.3, 0.9, 0.9, 0.9])]
    [p] = build_pairs(samples, tau=0.5)
    assert (p.kind, p.chosen_text, p.rejected_text) == ("first_error", "4 * 5 = 20", "2 * 3 = 5")


def test_pairs_sit_at_the_shared_prefix_and_only_the_first_error_counts():
    wrong_late = make_sample(["2 * 3 = 6", "4 * 5 = 21", "6 + 21 = 28", "Answer: 28"], [0.9, 0.8, 0.9, 0.9])
    pairs = build_pairs([make_sample(CORRECT, [0.9] * 4), wrong_late], tau=0.5)
    assert [(p.kind, p.chosen_text, p.rejected_text, p.step_index) for p in pairs] == [
        ("confident_wrong", "4 * 5 = 20", "4 * 5 = 21", 1)]
    # "6 + 21 = 28" is wrong too, but it sits on a wrong state: no pair
    assert pairs[0].context == tok.prompt_ids(PROBLEM) + tok.encode("2 * 3 = 6\n")


def test_without_a_correct_sibling_the_verifier_makes_the_chosen_step():
    samples = [make_sample(["2 * 3 = 7", "4 * 5 = 20", "7 + 20 = 27", "Answer: 27"], [0.9] * 4),
               make_sample(["2 * 3 = 7", "4 * 5 = 20", "7 + 20 = 27", "Answer: 27"], [0.9] * 4),  # duplicate
               make_sample(["3 + 4 = 7", "Answer: 7"], [0.8, 0.8])]
    pairs = build_pairs(samples, tau=0.5)
    assert [(p.kind, p.chosen_text, p.rejected_text, p.chosen_source) for p in pairs] == [
        ("first_error", "2 * 3 = 6", "2 * 3 = 7", "verifier"),  # the model's operation, the right result
        ("first_error", "2 * 3 = 6", "3 + 4 = 7", "verifier"),  # not a ready operation: the next one
    ]
    assert count_pairs(pairs) == {"confident_wrong": 0, "first_error": 2, "verifier_chosen": 2, "total": 2}


def test_corrected_step_covers_answers_and_premature_answers():
    assert corrected_step(PROBLEM, CORRECT[:3], "Answer: 25") == "Answer: 26"
    assert corrected_step(PROBLEM, CORRECT[:1], "Answer: 6") == "4 * 5 = 20"
    assert corrected_step(PROBLEM, [], "garbage") == "2 * 3 = 6"
    assert step_ids("Answer: 26") == tok.encode("Answer: 26") + [tok.EOS_ID]
    with pytest.raises(ValueError):
        corrected_step(PROBLEM, ["2 * 3 = 7"], "4 * 5 = 20")


def test_lines_after_the_answer_line_are_unlabelled_and_make_no_pairs():
    # The engine stops at the answer line; the PyTorch sampler runs to EOS, so a model that writes on
    # (here: the answer again) left a step labelled wrong, which build_pairs could not correct (ValueError).
    on = make_sample(CORRECT + ["Answer: 26"], [0.9] * 5)
    assert [(st.correct, st.reason) for st in on.steps[3:]] == [(True, "ok"), (None, "after the answer line")]
    assert on.answer_correct
    assert build_pairs([on, make_sample(CORRECT, [0.9] * 4)], tau=0.5) == []
    assert sample_stats([on], tau=0.5) == {"solutions": 1, "accuracy": 1.0, "steps": 4, "wrong_steps": 0, "confident_wrong_steps": 0}


def test_the_cut_last_step_of_a_sample_that_hit_the_token_limit_makes_no_pair():
    ids = tok.encode("2 * 3 = 6\n4 * 5 = 2")  # no EOS: the token limit cut the second step
    cut = Sample(PROBLEM, "26", [TokenRecord(t, math.log(0.9), 0.1, [math.log(0.9)] * 5) for t in ids], finished=False)
    cut.steps = segment(cut.tokens)
    label(cut)
    assert [(st.text, st.correct) for st in cut.steps] == [("2 * 3 = 6", True), ("4 * 5 = 2", False)]
    assert build_pairs([cut, make_sample(CORRECT, [0.9] * 4)], tau=0.5) == []
    # finished, the same wrong step is paired
    whole = make_sample(["2 * 3 = 6", "4 * 5 = 2", "6 + 2 = 8", "Answer: 8"], [0.9] * 4)
    assert [p.rejected_text for p in build_pairs([whole, make_sample(CORRECT, [0.9] * 4)], tau=0.5)] == ["4 * 5 = 2"]


def test_all_correct_samples_make_no_pairs():
    assert build_pairs([make_sample(CORRECT, [0.2] * 4), make_sample(CORRECT, [0.9] * 4)]) == []


def _siblings_and_wrong(wrong_conf):
    return [make_sample(CORRECT, [0.6] * 4),
            make_sample(["4 * 5 = 20", "2 * 3 = 6", "20 + 6 = 26", "Answer: 26"], [0.95] * 4),
            make_sample(["2 * 3 = 5", "4 * 5 = 20", "5 + 20 = 25", "Answer: 25"], [wrong_conf, 0.99, 0.99, 0.99])]


def test_the_filter_reads_the_engine_confidence_when_the_samples_carry_it(tmp_path: Path):
    # raw geoMeanProb 0.9 is "confident"; the engine's Platt map (a = 20, b = -19: 0.9 -> 0.27) says the
    # wrong step would be pruned by CaT at tau 0.5, so it is a first_error pair against the most confident sibling
    (tmp_path / "caspo.json").write_text(json.dumps(
        {"defaultMetric": "geoMeanProb", "calibration": {"geoMeanProb": {"type": "platt", "a": 20.0, "b": -19.0}}}))
    engine = EngineConfidence.from_model_dir(tmp_path)
    samples = _siblings_and_wrong(0.9)
    [raw] = build_pairs(samples, tau=0.5)
    assert (raw.kind, raw.chosen_text) == ("confident_wrong", "2 * 3 = 6")  # the least confident sibling
    annotate(samples, engine)
    assert samples[2].steps[0].engine_confidence == pytest.approx(1 / (1 + math.exp(-(20 * 0.9 - 19))))
    [p] = build_pairs(samples, tau=0.5)
    assert (p.kind, p.chosen_text, p.rejected_text) == ("first_error", "4 * 5 = 20", "2 * 3 = 5")
    assert p.rejected_confidence == pytest.approx(0.2689, abs=1e-4) and p.chosen_confidence == pytest.approx(0.5)  # 0.95 -> 0.5
    # a wrong step the engine keeps (0.99 -> 0.71) stays confident_wrong
    samples = _siblings_and_wrong(0.99)
    annotate(samples, engine)
    assert build_pairs(samples, tau=0.5)[0].kind == "confident_wrong"


def test_engine_confidence_defaults_without_a_platt_map_follow_the_engine(tmp_path: Path):
    (tmp_path / "caspo.json").write_text(json.dumps({"defaultMetric": "meanEntropy", "calibration": {}}))
    scores = {"meanEntropy": -0.25, "geoMeanProb": 1.2, "minProb": 0.3, "deepConf": 3.0}
    assert EngineConfidence.from_model_dir(tmp_path)(scores) == pytest.approx(math.exp(-0.25))
    assert EngineConfidence("geoMeanProb", None)(scores) == 1.0  # clamped, as the engine does
    assert EngineConfidence("deepConf", None)(scores) == pytest.approx(1 - math.exp(-(3.0 - math.log(5)) / math.log(tok.VOCAB_SIZE)))
    assert EngineConfidence.from_model_dir(tmp_path / "missing") is None
    with pytest.raises(ValueError):
        EngineConfidence("perplexity", None)


def test_dataset_rows_rebuild_the_samples_pairs(tmp_path: Path):
    samples = _siblings_and_wrong(0.9) + [make_sample(["2 * 3 = 7", "4 * 5 = 20", "7 + 20 = 27", "Answer: 27"], [0.8] * 4)]
    annotate(samples, EngineConfidence("geoMeanProb", {"a": 20.0, "b": -19.0}))
    rebuilt = [sample_from_json(json.loads(json.dumps(sample_to_json(s, "m")))) for s in samples]
    key = lambda ps: [(p.kind, p.context, p.chosen, p.rejected, p.chosen_source) for p in ps]  # noqa: E731
    assert key(build_pairs(rebuilt)) == key(build_pairs(samples))
    assert len(build_pairs(samples)) == 2


# ---- DPO -----------------------------------------------------------------------------------------

def test_dpo_loss_values_and_gradient_signs():
    pc, pr = torch.tensor([-2.0], requires_grad=True), torch.tensor([-1.0], requires_grad=True)
    rc, rr = torch.tensor([-2.0]), torch.tensor([-1.0])
    loss, margin = dpo_loss(pc, pr, rc, rr, beta=0.1)
    assert loss.item() == pytest.approx(math.log(2)) and margin.item() == 0
    loss.backward()
    assert pc.grad.item() < 0 < pr.grad.item()  # descent raises the chosen and lowers the rejected
    assert pc.grad.item() == pytest.approx(-0.05) and pr.grad.item() == pytest.approx(0.05)
    loss2, _ = dpo_loss(torch.tensor([0.0]), torch.tensor([-5.0]), rc, rr, beta=0.1)
    assert loss2.item() == pytest.approx(-math.log(1 / (1 + math.exp(-0.1 * 6))))


def test_dpo_training_moves_a_toy_model_toward_the_chosen_step():
    torch.manual_seed(0)
    policy = CausalLM(SIZES["tiny"])
    reference = CausalLM(SIZES["tiny"])
    reference.load_state_dict(policy.state_dict())
    context = tok.prompt_ids(PROBLEM)
    pair = Pair(PROBLEM, context, tok.encode("2 * 3 = 6\n"), tok.encode("2 * 3 = 5\n"), "confident_wrong",
                "2 * 3 = 6", "2 * 3 = 5", 0.5, 0.9, "sample", 0)

    def margin():
        with torch.no_grad():
            lp, _ = sequence_log_probs(policy, [(context, pair.chosen), (context, pair.rejected)])
        return (lp[0] - lp[1]).item()

    before = margin()
    stats = train_dpo(policy, reference, [pair] * 8, DPOConfig(lr=1e-3, epochs=3, batch_pairs=4, alpha=0.0, gamma=0.0), log=lambda e: None)
    assert margin() > before + 0.5
    assert stats["steps"] == 6 and stats["log"][-1]["pair_accuracy"] == 1.0
    with torch.no_grad():  # the reference did not move
        lp_ref, _ = sequence_log_probs(reference, [(context, pair.chosen), (context, pair.rejected)])
        assert (lp_ref[0] - lp_ref[1]).item() == pytest.approx(before, abs=1e-5)


def test_sequence_log_probs_counts_only_the_step_tokens():
    torch.manual_seed(1)
    model = CausalLM(SIZES["tiny"]).eval()
    context, step = tok.prompt_ids(PROBLEM), tok.encode("2 * 3 = 6\n")
    lp, n = sequence_log_probs(model, [(context, step), (context[:5], step[:3])])
    assert n.tolist() == [len(step), 3]
    with torch.no_grad():
        logits = model(torch.tensor([context + step]))[0]
    expect = sum(torch.log_softmax(logits[len(context) - 1 + i], -1)[t].item() for i, t in enumerate(step))
    assert lp[0].item() == pytest.approx(expect, abs=1e-4)


# ---- the progress checks' step metrics (the engine's definitions) -------------------------------
def test_ece_and_auroc_follow_the_engine_definitions():
    conf, correct = [0.95, 0.95, 0.15, 0.55, 1.0], [True, False, False, True, True]
    # bin 9 holds 0.95, 0.95 and 1.0 (c = 1 joins the last bin): accuracy 2/3, mean 0.9667;
    # bin 1: 0.15, accuracy 0; bin 5: 0.55, accuracy 1
    expected = 3 / 5 * abs(2 / 3 - (0.95 + 0.95 + 1.0) / 3) + 1 / 5 * 0.15 + 1 / 5 * 0.45
    assert expected_calibration_error(conf, correct) == pytest.approx(expected)
    # correct vs wrong: (0.95 v 0.95) half, (0.95 v 0.15) 1, (0.55 v 0.95) 0, (0.55 v 0.15) 1, (1.0 v both) 2
    assert auroc(conf, correct) == pytest.approx(4.5 / 6)
    assert auroc([0.2, 0.9], [True, True]) is None
    with pytest.raises(ValueError, match="outside"):
        expected_calibration_error([1.5], [True])


def test_step_report_decodes_greedily_like_greedy_solve():
    model = CausalLM(SIZES["small"])
    model.load_state_dict(torch.load(SFT_CHECKPOINT,
                                     map_location="cpu"))
    rows = read_jsonl(DATA / "hard.jsonl")[:24]
    report = step_report(model, rows)
    solutions = greedy_solve(model, [r["problem"] for r in rows])
    expected = sum(verify_solution(r["problem"], s).answer_correct for r, s in zip(rows, solutions)) / len(rows)
    assert report["accuracy"] == round(expected, 4) and 0 < expected < 1
    for metric in ("minProb", "geoMeanProb"):
        assert 0 < report[f"ece_{metric}"] < 1 and 0.5 < report[f"auroc_{metric}"] <= 1


def test_device_cuda_without_a_gpu_is_refused_with_a_message(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(SystemExit):
        align_main(["--size", "tiny", "--device", "cuda", "--run-dir", "/tmp/never-written"])
    assert "--device cuda: PyTorch sees no CUDA GPU" in capsys.readouterr().err
    from caspo_train.screen import main as screen_main
    with pytest.raises(SystemExit):
        screen_main(["--device", "cuda", str(SFT_CHECKPOINT)])
    assert "--device cuda: PyTorch sees no CUDA GPU" in capsys.readouterr().err


def test_committed_evaluation_splits_are_the_generated_ones_and_disjoint():
    from caspo_train.splits import CALIBRATION_PROBLEMS, evaluation_splits
    hard = read_jsonl(DATA / "hard.jsonl")
    heldout, calibration = evaluation_splits(hard)
    assert read_jsonl(DATA / "heldout.jsonl") == heldout
    assert read_jsonl(DATA / "calibration.jsonl") == calibration
    assert len(calibration) == CALIBRATION_PROBLEMS == len({r["problem"] for r in calibration})
    assert not {r["problem"] for r in calibration} & {r["problem"] for r in heldout + hard}


def test_fresh_draws_avoid_every_split_problem():
    from caspo_train.screen import fresh_splits
    splits = fresh_splits(seed=3, in_domain=300, hard_scale=0.5)
    taken = {r["problem"] for name in ("heldout.jsonl", "calibration.jsonl", "hard.jsonl") for r in read_jsonl(DATA / name)}
    assert len(splits["in_domain"]) == 300 and len(splits["hard"]) == 100
    assert not taken & {r["problem"] for rows in splits.values() for r in rows}
    assert all(is_heldout(extract_expression(r["problem"]).replace(" ", "")) for r in splits["in_domain"])
    assert {r["kind"] for r in splits["hard"]} == {"edge", "ops5", "bigmul"}

