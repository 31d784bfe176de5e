"""CASPO's pipeline: the training-problem pool, the toy-size run end to end, resuming, the released dataset,
the --greedy-sample and --mine options (the pieces on hand-made traces: test_caspo.py)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch

from caspo_train.align import DATA, POOL, main as align_main, mine_mistakes, parse_pool, pool_text, training_problems
from caspo_train.arith import extract_expression, is_heldout
from caspo_train.data import read_jsonl
from caspo_train.model import CausalLM
from caspo_train.screen import load_model
from caspo_train.sft import SIZES

SFT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "caspo-arith-sft.pt"


# ---- problems and the pipeline -----------------------------------------------------------------

def test_training_problems_avoid_every_evaluation_problem():
    rows = training_problems(200, seed=3)
    assert len(rows) == 200 and len({r["problem"] for r in rows}) == 200
    evaluation = {extract_expression(r["problem"]).replace(" ", "")
                  for name in ("heldout", "calibration", "hard") for r in read_jsonl(DATA / f"{name}.jsonl")}
    for r in rows:
        key = extract_expression(r["problem"]).replace(" ", "")
        assert key not in evaluation and not is_heldout(key)
    for kind, _, share in POOL:  # every kind of the pool, in its share
        assert sum(r["kind"] == kind for r in rows) == round(200 * share), kind
    assert {r["kind"] for r in rows} == {kind for kind, _, _ in POOL}


def test_pool_option_parses_mixes_and_rejects_bad_ones():
    assert parse_pool(pool_text(POOL)) == POOL  # the default round-trips
    pool = parse_pool("in_domain=.3, ops5=.3,edge=.25,bigmul=.15")
    assert [(kind, share) for kind, _, share in pool] == [("in_domain", .3), ("ops5", .3), ("edge", .25), ("bigmul", .15)]
    rows = training_problems(40, seed=5, pool=pool)
    assert [sum(r["kind"] == kind for r in rows) for kind, _, _ in pool] == [12, 12, 10, 6]
    for bad, message in (("fives=1", "KIND=SHARE"), ("edge", "KIND=SHARE"), ("edge=x", "not a number"),
                         ("edge=.5", "sum to 0.5"), ("edge=1.5,ops5=-.5", "must be in")):
        with pytest.raises(ValueError, match=message):
            parse_pool(bad)


def test_max_operations_follow_the_pool_and_survive_a_merge(tmp_path: Path):
    from caspo_train.align import pool_max_operations
    from caspo_train.merge import aligned_max_operations
    assert pool_max_operations(parse_pool("in_domain=1")) == 4
    assert pool_max_operations(parse_pool("in_domain=.5,ops5=.5")) == 5
    assert pool_max_operations(parse_pool("edge=.5,bigmul=.5")) == 4  # the SFT problems' at least
    (tmp_path / "iter1" / "model").mkdir(parents=True)
    (tmp_path / "iter1" / "model" / "config.json").write_text(json.dumps({"caspo_max_operations": 5}))
    assert aligned_max_operations(tmp_path / "iter1" / "model.pt") == 5
    assert aligned_max_operations(tmp_path / "iter1" / "model") == 5
    assert aligned_max_operations(tmp_path / "elsewhere.pt") == 4


def test_an_iteration_keeps_the_operations_earlier_iterations_saw(tmp_path):
    # a stage on in-domain problems only (4 operations) resuming iterations that sampled five-operation ones
    from caspo_train.align import max_operations
    (tmp_path / "iter6" / "model").mkdir(parents=True)
    (tmp_path / "iter6" / "model" / "config.json").write_text(json.dumps({"caspo_max_operations": 5}))
    assert max_operations(tmp_path, 7, parse_pool("in_domain=1")) == 5
    assert max_operations(tmp_path, 1, parse_pool("in_domain=1")) == 4  # nothing before it: its pool's
    assert max_operations(tmp_path, 1, parse_pool("in_domain=.5,ops5=.5")) == 5


def test_pipeline_runs_end_to_end_at_toy_size(tmp_path: Path):
    # From the SFT checkpoint, so that samples end (a random model's are all cut off by the token limit, and a
    # cut step makes no pair) and are wrong on the five-operation half of the pool: pairs, then DPO steps.
    out = tmp_path / "model"
    align_main(["--init", str(SFT_CHECKPOINT), "--iterations", "2", "--problems", "5", "--samples", "2",
                "--max-new-tokens", "96", "--epochs", "1", "--eval-limit", "2", "--calibrate", "no",
                "--run-dir", str(tmp_path / "run"), "--out", str(out), "--dataset", str(tmp_path / "ds")])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert [it["iteration"] for it in summary["iterations"]] == [1, 2]
    assert all(it["pairs"]["total"] > 0 and it["dpo"]["steps"] > 0 for it in summary["iterations"])
    for name in ("config.json", "tokenizer.json", "onnx/model.onnx", "parity.json", "README.md", "training.json"):
        assert (out / name).exists(), name
    # the engine gives a model of this family only problems it can read (language-server/src/verify/domain.ts)
    config = json.loads((out / "config.json").read_text())
    assert config["caspo_problem_domain"] == "arithmetic"
    # and with more operations than its problems had (the default pool has five-operation ones) under a caution
    assert config["caspo_max_operations"] == 5
    rows = [json.loads(line) for line in (tmp_path / "ds" / "steps.jsonl").read_text().splitlines()]
    assert len(rows) == 10 and all(r["model"] == "caspo-arith-sft" and "steps" in r for r in rows)
    counts = json.loads((tmp_path / "ds" / "counts.json").read_text())
    assert counts["total"]["solutions"] == 10 and counts["total"]["steps"] == sum(len(r["steps"]) for r in rows)
    assert "| all | 10 |" in (tmp_path / "ds" / "README.md").read_text()
    # the counts rebuilt from the rows are the pairs the run trained on; no caspo.json: the raw filter, said so
    assert counts["pairs_iteration1"] == summary["iterations"][0]["pairs"]
    assert summary["iterations"][0]["filter"].startswith("raw geoMeanProb (iteration 1 without --sft-model")


def test_the_released_dataset_counts_are_those_of_its_rows(tmp_path: Path):
    import shutil

    from caspo_train.dataset import describe
    released = DATA / "caspo"
    shutil.copytree(released, tmp_path / "ds")
    info = describe(tmp_path / "ds")
    assert info == json.loads((released / "counts.json").read_text())
    assert (tmp_path / "ds" / "README.md").read_text() == (released / "README.md").read_text()
    assert info["engine"] and info["total"]["confident_wrong_steps"] < info["total"]["wrong_steps"]  # the filter filters


def test_the_released_dataset_engine_confidence_is_its_models_current_map():
    # The rows name the Platt map they were annotated with; a refit of that model's caspo.json must be followed by
    # `python3 -m caspo_train.dataset data/caspo --model ../models/caspo-arith-sft`, or the column goes stale.
    from caspo_train.dataset import read_rows
    from caspo_train.sample import EngineConfidence
    engine = EngineConfidence.from_model_dir(Path(__file__).resolve().parents[2] / "models" / "caspo-arith-sft")
    assert engine is not None
    rows = read_rows(DATA / "caspo")
    steps = [st for row in rows[::50] for st in row["steps"]]
    assert len(steps) > 100
    worst = max(abs(st["engineConfidence"] - round(engine(st["scores"]), 6)) for st in steps)
    assert worst <= 1e-6, f"engineConfidence is {worst:.4f} off the current caspo.json: re-annotate the dataset"


def test_resume_refuses_an_iteration_of_other_settings_and_a_retrained_iteration_is_exported_again(tmp_path: Path):
    torch.manual_seed(0)
    init = tmp_path / "init.pt"
    torch.save(CausalLM(SIZES["tiny"]).state_dict(), init)
    run = tmp_path / "run"
    toy = ["--size", "tiny", "--init", str(init), "--iterations", "1", "--samples", "2", "--max-new-tokens", "16",
           "--epochs", "1", "--lr", "1e-3", "--eval-limit", "1", "--calibrate", "no", "--run-dir", str(run)]
    align_main(toy + ["--problems", "5"])
    assert json.loads((run / "iter1" / "iteration.json").read_text())["settings"]["problems"] == 5
    with pytest.raises(SystemExit, match=r"iter1 was trained with other settings \(--problems 5 there, 6 here\)"):
        align_main(toy + ["--problems", "6", "--resume"])
    align_main(toy + ["--problems", "5", "--resume"])  # the same settings: resumed
    # Without --resume the iteration is trained again (another seed: other weights), and its export follows it.
    exported = (run / "iter1" / "model" / "onnx" / "model.onnx").read_bytes()
    align_main(toy + ["--problems", "5", "--seed", "1"])
    assert (run / "iter1" / "model" / "onnx" / "model.onnx").read_bytes() != exported


def test_reference_option_anchors_later_iterations_to_the_starting_model(tmp_path: Path):
    # With the previous iteration as the reference, each iteration's first DPO step starts from a zero
    # margin (policy == reference); with --reference sft, iteration 2 starts from iteration 1's weights
    # measured against the starting model, so its first margin is not zero.
    torch.manual_seed(0)
    init = tmp_path / "init.pt"
    torch.save(CausalLM(SIZES["tiny"]).state_dict(), init)
    first_margins = {}
    for reference in ("previous", "sft"):
        run = tmp_path / reference
        align_main(["--size", "tiny", "--init", str(init), "--iterations", "2", "--problems", "5", "--samples", "2",
                    "--max-new-tokens", "16", "--epochs", "1", "--lr", "1e-3", "--eval-limit", "1", "--calibrate", "no",
                    "--run-dir", str(run), "--reference", reference])
        summary = json.loads((run / "summary.json").read_text())
        first_margins[reference] = [it["dpo"]["log"][0]["margin"] for it in summary["iterations"]]
    assert first_margins["previous"] == [0.0, 0.0]
    assert first_margins["sft"][0] == 0.0 and abs(first_margins["sft"][1]) > 1e-4
    with pytest.raises(SystemExit):
        align_main(["--run-dir", str(tmp_path / "never"), "--reference", "sft"])  # no --init: refused



def test_greedy_sample_pairs_the_greedy_decode_too_and_keeps_it_out_of_the_dataset(tmp_path: Path):
    # the SFT model on products of two 3-digit numbers, where its greedy decode goes wrong too
    runs = {}
    for flag in ([], ["--greedy-sample"]):
        run = tmp_path / ("greedy" if flag else "plain")
        align_main(["--init", str(SFT_CHECKPOINT), "--iterations", "1", "--problems", "6", "--samples", "1",
                    "--pool", "bigmul=1", "--replay-batch", "8", "--eval-limit", "1", "--calibrate", "no",
                    "--run-dir", str(run), "--dataset", str(run / "ds"), *flag])
        runs[run.name] = json.loads((run / "summary.json").read_text())["iterations"][0]
        rows = (run / "ds" / "steps.jsonl").read_text().splitlines()
        assert len(rows) == 6  # the T = 1 samples only, with or without the greedy decode
    plain, greedy = runs["plain"], runs["greedy"]
    same = lambda stats: {k: v for k, v in stats.items() if k not in ("greedy_accuracy", "wall_s")}
    assert same(plain["sampling"]) == same(greedy["sampling"])  # the same T = 1 draws
    assert "greedy_accuracy" not in plain["sampling"] and 0.0 <= greedy["sampling"]["greedy_accuracy"] <= 1.0
    assert greedy["pairs"]["total"] > plain["pairs"]["total"]  # the greedy solutions' wrong steps pair up too


def test_mine_pairs_the_greedy_mistakes_of_extra_in_domain_problems(tmp_path: Path):
    # 300 extra in-domain problems: the SFT model's greedy decode gets a few wrong (4 on the CPU), and only those
    # join the pairs; the T = 1 samples and the released dataset stay as they were
    runs = {}
    for flag in ([], ["--mine", "300"]):
        run = tmp_path / ("mined" if flag else "plain")
        align_main(["--init", str(SFT_CHECKPOINT), "--iterations", "1", "--problems", "4", "--samples", "1",
                    "--replay-batch", "8", "--eval-limit", "1", "--calibrate", "no", "--run-dir", str(run), *flag])
        runs[run.name] = json.loads((run / "summary.json").read_text())["iterations"][0]
    plain, mined = runs["plain"], runs["mined"]
    assert mined["sampling"]["mined"]["problems"] == 300 and "mined" not in plain["sampling"]
    wrong = mined["sampling"]["mined"]["wrong"]
    assert wrong >= 1
    assert mined["pairs"]["total"] >= plain["pairs"]["total"] + wrong  # every mined solution has a wrong step to pair
    assert mined["pairs"]["verifier_chosen"] >= plain["pairs"]["verifier_chosen"] + wrong
    model = load_model(torch.load(SFT_CHECKPOINT, map_location="cpu"), "small", "cpu")
    args = argparse.Namespace(mine=300, seed=0, max_new_tokens=160)
    found = mine_mistakes(model, 1, args)
    assert len(found) == wrong and all(not s.answer_correct or any(not st.correct for st in s.steps) for s in found)
    taken = {extract_expression(s.problem).replace(" ", "") for s in found}
    assert not any(is_heldout(k) for k in taken)  # training hash space: never a held-out or fresh-draw problem
