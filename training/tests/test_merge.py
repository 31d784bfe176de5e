"""Interpolation toward the SFT model (caspo_train.merge): the weights, reading an export back, the
choice rule, and the command at toy size."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from caspo_train.export import export_onnx
from caspo_train.merge import aligned_record, choose, closest, interpolate, load_state, main as merge_main
from caspo_train.model import CausalLM
from caspo_train.sft import SIZES


def tiny_state(seed: int) -> dict:
    """A random tiny model with distinct norm weights (an export would store untrained all-ones norms once)."""
    torch.manual_seed(seed)
    state = CausalLM(SIZES["tiny"]).state_dict()
    for name, value in state.items():
        if "norm" in name:
            state[name] = value + 0.01 * torch.randn_like(value)
    return state


def test_interpolation_is_the_base_at_zero_the_aligned_model_at_one_and_linear_between():
    base, aligned = tiny_state(0), tiny_state(1)
    for name in base:
        assert torch.equal(interpolate(base, aligned, 0.0)[name], base[name])
        assert torch.equal(interpolate(base, aligned, 1.0)[name], aligned[name])  # exactly: alpha 1 ships the iteration
        assert torch.allclose(interpolate(base, aligned, 0.25)[name], 0.75 * base[name] + 0.25 * aligned[name], atol=1e-6)
    other = dict(aligned)
    other["extra.weight"] = other.pop("norm.weight")
    with pytest.raises(ValueError, match="different parameters"):
        interpolate(base, other, 0.5)
    other = dict(aligned)
    other["norm.weight"] = torch.zeros(3)
    with pytest.raises(ValueError, match="norm.weight: shape"):
        interpolate(base, other, 0.5)


def test_an_exported_folder_reads_back_as_the_exact_state_dict(tmp_path: Path):
    state = tiny_state(2)
    model = CausalLM(SIZES["tiny"])
    model.load_state_dict(state)
    export_onnx(model, tmp_path / "onnx" / "model.onnx")
    back = load_state(tmp_path)
    assert set(back) == set(state)
    for name in state:
        assert torch.equal(back[name], state[name]), name
    torch.save(state, tmp_path / "model.pt")
    assert all(torch.equal(load_state(tmp_path / "model.pt")[n], state[n]) for n in state)


def test_the_choice_is_the_largest_alpha_that_keeps_the_base_in_domain_accuracy():
    rows = [(1.0, {"in_domain": {"accuracy": 0.979}}), (0.9, {"in_domain": {"accuracy": 0.984}}),
            (0.8, {"in_domain": {"accuracy": 0.986}}), (0.7, {"in_domain": {"accuracy": 0.990}})]
    alpha, why = choose(rows, 0.986)
    assert alpha == 0.8 and "98.60 %" in why  # equal counts as kept
    assert choose(rows, 0.995) == (None, "no alpha tried keeps the SFT model's fresh in-domain accuracy (99.50 %)")
    # then the command ships the weight that comes closest, the larger on a tie
    assert closest(rows) == (0.7, "the highest of them, 99.00 %, is alpha 0.7's")
    assert closest(rows + [(0.6, {"in_domain": {"accuracy": 0.990}})])[0] == 0.7


def test_the_command_screens_from_the_largest_alpha_down_and_exports_the_choice(tmp_path: Path):
    base, aligned = tiny_state(3), tiny_state(4)
    torch.save(base, tmp_path / "base.pt")
    torch.save(aligned, tmp_path / "aligned.pt")
    (tmp_path / "summary.json").write_text(json.dumps({
        "command": "python3 -m caspo_train.align (toy)", "hardware": "CPU", "iterations": [],
        "args": {"problems": 1, "pool": "in_domain=1", "samples": 1, "temperature": 1.0, "tau": 0.5, "beta": 0.1,
                 "alpha": 0.2, "lr": 1e-5, "epochs": 1, "batch_pairs": 1, "replay_batch": 0},
        "default": {"iteration": 3, "why": "the toy"}}))
    out = tmp_path / "out"
    # Two random models solve nothing: no weight keeps "the base's accuracy" strictly above it, but 0 >= 0
    # holds, so the largest weight (tried first) is chosen and the search stops there.
    merge_main(["--base", str(tmp_path / "base.pt"), "--aligned", str(tmp_path / "aligned.pt"), "--out", str(out),
                "--size", "tiny", "--alphas", "0.5,1", "--in-domain", "3", "--hard-scale", "0.01", "--calibrate", "no",
                "--summary", str(tmp_path / "summary.json"), "--device", "cpu"])
    report = json.loads((out / "caspo_merge.json").read_text())
    assert report["problems"] == {"in_domain": 3, "hard": 1}
    assert [row["alpha"] for row in report["screens"]] == [1.0] and report["chosen"]["alpha"] == 1.0
    assert report["base_screen"]["in_domain"]["accuracy"] == 0.0
    written = load_state(out)
    assert all(torch.allclose(written[n], aligned[n], atol=1e-7) for n in aligned)
    for name in ("config.json", "tokenizer.json", "parity.json", "README.md", "caspo_alignment.json"):
        assert (out / name).exists(), name
    assert json.loads((out / "caspo_alignment.json").read_text())["merge"]["chosen"]["alpha"] == 1.0
    card = (out / "README.md").read_text()
    assert "kept all of its update (alpha 1)" in card and "interpolated toward the SFT model**" not in card
    # npm run caspo:align merges the folder align chose into itself: everything is read before it is replaced
    (out / "training.json").write_text('{"iteration": 3}\n')
    assert json.loads((out / "config.json").read_text())["caspo_max_operations"] == 4  # aligned.pt: no config beside it
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "caspo_max_operations": 5}))
    merge_main(["--base", str(tmp_path / "base.pt"), "--aligned", str(out), "--out", str(out), "--size", "tiny",
                "--alphas", "1", "--in-domain", "2", "--hard-scale", "0.01", "--calibrate", "no",
                "--summary", str(out / "caspo_alignment.json"), "--device", "cpu"])
    assert (out / "training.json").read_text() == '{"iteration": 3}\n'
    assert json.loads((out / "config.json").read_text())["caspo_max_operations"] == 5  # the aligned folder's, kept
    assert all(torch.allclose(load_state(out)[n], aligned[n], atol=1e-6) for n in aligned)
    assert json.loads((out / "caspo_merge.json").read_text())["problems"]["in_domain"] == 2
    with pytest.raises(SystemExit):
        merge_main(["--base", "b", "--aligned", "a", "--out", str(out), "--alphas", "1.5"])


def test_a_run_checkpoint_brings_the_record_align_wrote_beside_it(tmp_path: Path):
    it = tmp_path / "run" / "iter3"
    (it / "model").mkdir(parents=True)
    (it / "iteration.json").write_text('{"iteration": 3, "stage": "trained"}\n')
    assert aligned_record(it / "model.pt") == '{"iteration": 3, "stage": "trained"}\n'  # before export: iteration.json
    (it / "model" / "training.json").write_text('{"iteration": 3, "eval": {}}\n')
    assert aligned_record(it / "model.pt") == '{"iteration": 3, "eval": {}}\n'  # the exported folder's record wins
    assert aligned_record(it / "model") == '{"iteration": 3, "eval": {}}\n'
    assert aligned_record(tmp_path / "elsewhere.pt") is None
