"""The model card (README.md in the model folder), written from the run's recipe and metrics."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _mine_words(args: dict) -> str:
    n = args.get("mine") or 0
    return (f", plus the greedy decodes of {n} more in-domain problems, of which the wrong ones pair up too (`--mine`; "
            "their first wrong step against the verifier's)") if n else ""


def _replay_words(args: dict) -> str:
    """The replayed training solutions per DPO step and their NLL weight (runs before v1 had none)."""
    batch, gamma = args.get("replay_batch", 0), args.get("gamma", 0)
    return f"{batch} ordinary training solutions replayed per step at NLL weight {gamma}, " if batch and gamma else ""


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _engine_section(folder: Path) -> str:
    """Confidence calibration and the Node engine's evaluation, when `caspo calibrate`/`caspo eval` ran."""
    caspo, runs = folder / "caspo.json", folder / "engine_eval.json"
    if not caspo.exists() or not runs.exists():
        return ""
    cal = json.loads(caspo.read_text())
    fit = cal["fit"]
    auroc = " | ".join(f"{m} {v:.4f}" for m, v in cal["auroc"].items())
    rows = "\n".join(
        f"| `{r['command']}` | {_pct(r['result']['accuracy'])} | {r['result']['stepAUROC']} | {r['result']['ece']} | "
        f"{r['result']['brier']} | {r['result']['generatedTokens']:,} | {r['result']['wallMs'] / 1000:.1f} s |"
        for r in json.loads(runs.read_text())["runs"])
    return f"""
## Step confidence (`caspo.json`, fitted by `caspo calibrate`)
Fitted on `{fit['input']}` ({fit['problems']} problems x {fit['samples']} samples at temperature
{fit['temperature']}: {fit['steps']} steps, {fit['negatives']} wrong per the verifier). AUROC of each
metric against step correctness: {auroc}. Default metric: **{cal['defaultMetric']}** (best AUROC),
mapped to [0, 1] by a Platt fit per metric.

## Node engine on the held-out split (`caspo eval`, CPU, 1 thread)
| command | accuracy | step AUROC | ECE (10 bins) | Brier | tokens | wall |
|---|---|---|---|---|---|---|
{rows}
"""


def write_model_card(folder: Path, recipe: dict, metrics: dict) -> None:
    cfg = recipe["config"]
    kinds = "\n".join(
        f"| {kind} | {v['correct']} / {v['n']} | {_pct(v['accuracy'])} |" for kind, v in metrics["by_kind"].items())
    text = f"""# caspo-arith-sft

A {recipe['parameters'] / 1e6:.2f} M-parameter Llama-layout causal LM that solves integer arithmetic
step by step, trained from scratch by this repository's pipeline (`training/`). It is the SFT
baseline: no preference alignment yet.

## Task and data
Integer arithmetic with `+`, `-`, `*`, standard precedence and optional parentheses, 2-4 operations,
operands up to three digits, each multiplication with a factor of at most two digits (the other at
most three), all intermediate results non-negative. Problems are a bare expression or carry a few
words around it (`What is 47*38 + 12?`). Prompt: `<|bos|>Problem: {{problem}}\\nSolution:\\n`
(the chat template in `tokenizer_config.json`). Solution: one line `a op b = c` per operation in
evaluation order, then `Answer: N`, then `<|eos|>`.

Training problems are generated on the fly (`training/caspo_train/arith.py`); a fixed 1-in-50 hash of
the expression is reserved for the held-out split and never trained on.

`config.json` declares this task (`"caspo_problem_domain": "arithmetic"`): the extension and `caspo solve` refuse a problem
without such an expression, and solve one outside these ranges (more than `"caspo_max_operations"` operations, a
number above 999, a larger product, a step below 0) under a caution.

## Model
Llama layout: RMSNorm, RoPE (theta {cfg['rope_theta']:g}), grouped-query attention
({cfg['num_attention_heads']} query heads, {cfg['num_key_value_heads']} KV heads, head size {cfg['head_dim']}),
SwiGLU MLP ({cfg['intermediate_size']}), {cfg['num_hidden_layers']} layers, hidden size {cfg['hidden_size']},
tied embeddings, byte-level tokenizer ({cfg['vocab_size']} ids: 256 bytes + `<|pad|>`, `<|bos|>`,
`<|eos|>`). Exported to ONNX (opset 17) with a KV cache, float32.

## Recipe
- Objective: next-token cross-entropy on the solution and EOS tokens (prompt masked).
- AdamW (betas 0.9/0.98, weight decay 0.1), peak learning rate {recipe['lr']}, {recipe['warmup']} warm-up
  steps, cosine to 10 % over the budget ({recipe['budget']}), gradient clipping 1.0, batch {recipe['batch_size']}.
- {recipe['steps']} steps, {recipe['examples']:,} examples, final loss {recipe['final_loss']}.
- Hardware: {recipe['hardware']}; training wall time {recipe['wall_s']} s.
- Reproduce: `python3 -m caspo_train.sft --out ../models/caspo-arith-sft --minutes 7.5 --heldout data/heldout.jsonl
  --run-dir runs/sft` from `training/` (`runs/sft/model.pt` is the checkpoint CASPO starts from).

## Held-out results (greedy, {metrics['n']} problems, `training/data/heldout.jsonl`)
Exact-answer accuracy {_pct(metrics['accuracy'])}; steps correct per the verifier {_pct(metrics['step_accuracy'])}.

| kind | correct | accuracy |
|---|---|---|
{kinds}

{_engine_section(Path(folder))}
`parity.json` holds PyTorch logits for one prompt and 40 cached greedy steps; the Node engine's tests
compare against it.
"""
    (Path(folder) / "README.md").write_text(text)


# ---- the CASPO model card (caspo_train.align) -------------------------------------------------------
def _filter_words(summary: dict) -> str:
    if summary["args"].get("filter_confidence", "raw") == "raw":  # runs before the flag filtered on geoMeanProb
        return "raw geoMeanProb"
    return "engine confidence (the sampling model's caspo.json metric through its Platt map: what CaT prunes on)"


def _chosen_words(summary: dict) -> str:
    iteration = summary.get("default", {}).get("iteration", len(summary["iterations"]))
    why = summary.get("default", {}).get("why", "the last iteration")
    merge = summary.get("merge")
    if not merge:
        return f"**This folder is iteration {iteration}**: {why}."
    alpha = merge["chosen"]["alpha"]
    if alpha == 1:  # the merge kept the whole update: the weights are the iteration's, exactly
        return (f"**This folder is iteration {iteration}**: {why}. `caspo_train.merge` kept all of its update "
                f"(alpha 1): {merge['chosen']['why']}.")
    return (f"**This folder is iteration {iteration} interpolated toward the SFT model**: weights "
            f"theta_SFT + {alpha:g} x (theta_iteration{iteration} - theta_SFT) (`caspo_train.merge`), "
            f"{merge['chosen']['why']}. Iteration {iteration} itself: {why}.")


def _merge_section(summary: dict) -> str:
    merge = summary.get("merge")
    if not merge:
        return ""
    rows = "\n".join(
        f"| {row['alpha']:g} | {100 * row['in_domain']['accuracy']:.2f} % | {row['in_domain'].get('auroc_minProb')} | "
        f"{100 * row['hard']['accuracy']:.2f} % | {row['hard'].get('ece_minProb')} | {row['hard'].get('auroc_minProb')} |"
        for row in merge["screens"])
    return f"""
## Interpolation toward the SFT model
`{merge['command']}` (from `training/`). Fresh draws (`screen.fresh_splits`, seed {merge['screen_seed']}: {merge['problems']['in_domain']}
in-domain and {merge['problems']['hard']} hard problems, none in a split or trained on); alpha 0 is the SFT model; PyTorch greedy,
raw minProb step confidence; the weights are tried from the largest down and the first that keeps the SFT model's
in-domain accuracy ships.

| alpha | in-domain accuracy | in-domain AUROC | hard accuracy | hard ECE | hard AUROC |
|---|---|---|---|---|---|
{rows}
"""


def write_card(folder: Path, summary: dict) -> None:
    """The aligned model's card from the run's summary.json: recipe, pair counts and progress checks."""
    rows = "\n".join(
        f"| {it['iteration']} | {it['pairs']['confident_wrong']} | {it['pairs']['first_error']} | "
        f"{it['pairs']['verifier_chosen']} | {it['sampling']['accuracy']:.3f} | {it['sampling']['wrong_steps']} | "
        f"{it['dpo']['steps']} | {it['dpo'].get('final_pair_accuracy')} | {it['eval'].get('heldout')} | {it['eval'].get('hard')} | "
        f"{it['eval'].get('hard_ece_minProb', '')} | {it['eval'].get('hard_auroc_minProb', '')} |"
        for it in summary["iterations"])
    text = f"""# {folder.name}

The embedded model after CASPO (Confidence-Aware Step-wise Preference Optimization, arXiv 2605.07353):
`caspo-arith-sft` aligned by {len(summary['iterations'])} iterations of step-wise DPO on confidence-filtered
preference pairs, so that its token confidence tracks whether a step is logically correct. Same
architecture, tokenizer and prompt as `models/caspo-arith-sft` (see its card); no reward model.

{_chosen_words(summary)}
{summary.get('note', '')}
{_merge_section(summary)}
## Recipe
`{summary['command']}` (from `training/`), {summary['hardware']}.
Per iteration: {summary['args']['problems']} fresh training problems ({summary['args']['pool']}) x {summary['args']['samples']} samples
at temperature {summary['args']['temperature']}{_mine_words(summary['args'])}; pairs at shared all-correct prefixes
(`confident_wrong`: a sampled wrong step whose {_filter_words(summary)} is >= {summary['args']['tau']} vs the least confident
correct sibling; `first_error`: the first wrong step vs a correct continuation, sampled or made by the
verifier); DPO beta {summary['args']['beta']}, chosen-NLL weight {summary['args']['alpha']}, learning rate
{summary['args']['lr']}, {summary['args']['epochs']} epochs, {summary['args']['batch_pairs']} pairs per batch,
{_replay_words(summary['args'])}{'the previous iteration' if summary['args'].get('reference', 'previous') == 'previous' else 'the SFT model (`--reference sft`)'} as the frozen reference.

| iteration | confident_wrong pairs | first_error pairs | of which verifier-made | sample accuracy | wrong steps sampled | DPO steps | final pair acc. | held-out greedy | hard greedy | hard ECE (minProb) | hard AUROC (minProb) |
|---|---|---|---|---|---|---|---|---|---|---|---|
{rows}

(held-out / hard: PyTorch greedy exact-answer accuracy{{limit}}; hard ECE / AUROC: raw minProb step confidence
against the verifier's labels on the hard split (empty for runs before v10); progress checks during training. SFT before
alignment: {{sft}}. The engine's full comparison -- calibration, AUROC, greedy and CaT -- is in `docs/caspo/calibration.md`.)
Wall time of the iterations (sampling, pairs, DPO; export and calibration not included): {' + '.join(str(it.get('wall_s')) for it in summary['iterations'])} s.
"""
    limit = summary["args"].get("eval_limit")
    text = text.replace("{limit}", f" on the first {limit} problems of each split" if limit else "")
    text = text.replace("{sft}", json.dumps(summary.get("sft_eval")))
    (folder / "README.md").write_text(text)


def main() -> None:
    """Rewrite a model folder's card from its training.json (plus caspo.json / engine_eval.json)."""
    folder = Path(sys.argv[1])
    run = json.loads((folder / "training.json").read_text())
    write_model_card(folder, run["recipe"], run["heldout"])
    print(f"wrote {folder / 'README.md'}")


if __name__ == "__main__":
    main()
