#!/usr/bin/env python3
"""Distillation vs training from scratch at equal compute: the table of docs/results.md.

Runs, on the nano pipeline's data (scripts/quickstart.sh stages 1-5 must have run):
  1. the teacher's held-out accuracy (`ember eval`, the distill preset's task and difficulty);
  2. the distilled student: `ember distill` (configs/nano/distill.yaml) from the teacher into
     nano-student, evaluated every --eval-interval steps; its compute is the teacher's forwards
     plus the student's training, both from the run's metrics;
  3. the same student from scratch with the same total FLOPs on the same data mixture: `ember
     pretrain` of nano-student for as many steps as that budget buys (minus the RL stage's
     estimated FLOPs), evaluated at the same points, then `ember rl` (configs/nano/grpo.yaml) on it;
and prints a markdown table: accuracy and FLOPs of each, and the FLOPs each needed to first reach a
fixed accuracy (--target, default 90% of the teacher's). Outputs go to --out (default
runs/bench-distill). FLOPs follow model/flops.h (forward 2N + attention, training 6N + attention);
RL FLOPs are counted from its logged generated tokens: rollout forward + training step + the
reference model's forward when the KL term is on.
"""
import argparse
import functools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMBER = os.environ.get("EMBER_BIN", str(ROOT / "build/bin/ember"))


def run(*args: str) -> str:
    print("+", " ".join(args), flush=True)
    result = subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
    return result.stdout


@functools.lru_cache(maxsize=None)
def preset(command: str, path: str) -> dict:
    """The resolved config of a preset, as `ember COMMAND --print-config` prints it."""
    import yaml  # the venv's PyYAML (scripts/setup.sh)
    return yaml.safe_load(run(EMBER, command, "--config", path, "--print-config"))


def evaluate(checkpoint: str, samples: int) -> dict:
    d = preset("distill", "configs/nano/distill.yaml")["distill"]
    out = run(EMBER, "eval", "--checkpoint", checkpoint, "--task", d["task"], "--samples", str(samples),
              "--difficulty", str(d["difficulty"]), "--max-new-tokens", str(d["max_new_tokens"]))
    return json.loads(out.strip().splitlines()[-1])


def metrics(run_dir: Path) -> list:
    return [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()]


def distill_data_overrides() -> list:
    """data.train / data.weights of configs/nano/distill.yaml, so the scratch student sees the same mixture."""
    data = preset("distill", "configs/nano/distill.yaml")["data"]
    overrides = [f"data.train=[{','.join(data['train'])}]"]
    if data.get("weights"):
        overrides.append(f"data.weights=[{','.join(str(w) for w in data['weights'])}]")
    return overrides


def first_reaching(points: list, target: float):
    for flops, accuracy in points:
        if accuracy >= target:
            return flops
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="runs/quickstart/rl")
    parser.add_argument("--out", default="runs/bench-distill")
    parser.add_argument("--steps", type=int, default=1500, help="distillation steps (the preset's)")
    parser.add_argument("--eval-interval", type=int, default=250)
    parser.add_argument("--samples", type=int, default=400, help="distinct held-out problems per evaluation")
    parser.add_argument("--rl-steps", type=int, default=30, help="RL steps of the scratch student (the preset's)")
    parser.add_argument("--target", type=float, default=0, help="accuracy threshold; 0 = 90%% of the teacher's")
    args = parser.parse_args()
    out = Path(args.out)
    batch, seq_len = 32, 128

    teacher = evaluate(args.teacher, args.samples)
    target = args.target or 0.9 * teacher["accuracy"]

    distilled = out / "distilled"
    run(EMBER, "distill", "--config", "configs/nano/distill.yaml", f"run.dir={distilled}",
        f"distill.teacher={args.teacher}", f"train.steps={args.steps}", f"distill.eval_interval={args.eval_interval}",
        f"distill.eval_samples={args.samples}", f"checkpoint.interval={args.steps}")
    d_rows = metrics(distilled)
    d_points = [(r["flops_total"], r["eval_accuracy"]) for r in d_rows if "eval_accuracy" in r]
    d_final = evaluate(str(distilled), args.samples)
    budget = d_rows[-1]["flops_total"]

    # The student's training FLOPs per token as the distill run counted them (model/flops.h), and a
    # forward pass as a third of that (2N of 6N).
    train_per_token = d_rows[-1]["flops_student_step"] / (batch * seq_len)
    forward_per_token = train_per_token / 3
    rl = preset("rl", "configs/nano/grpo.yaml")["rl"]
    samples_per_step = rl["prompts"] * rl["group_size"] * rl["max_new_tokens"]  # upper bound: full lengths
    rl_estimate = args.rl_steps * samples_per_step * (2 * forward_per_token + train_per_token)
    per_step = train_per_token * batch * seq_len
    scratch_steps = max(1, int((budget - rl_estimate) // per_step))
    scratch = out / "scratch-pretrain"
    overrides = [f"run.dir={scratch}", f"train.steps={scratch_steps}", f"checkpoint.interval={args.eval_interval}",
                 "checkpoint.keep=100", f"train.eval_interval={args.eval_interval}"]
    student_config = out / "scratch-pretrain.yaml"
    out.mkdir(parents=True, exist_ok=True)
    student_config.write_text(f"base: [{ROOT / 'configs/nano/pretrain.yaml'}, {ROOT / 'configs/model/nano-student.yaml'}]\n")
    run(EMBER, "pretrain", "--config", str(student_config), *overrides, *distill_data_overrides())
    s_points = []
    for checkpoint in sorted((scratch / "checkpoints").glob("step_*")):
        step = int(checkpoint.name.split("_")[1])
        s_points.append((step * per_step, evaluate(str(checkpoint), args.samples)["accuracy"]))
    scratch_rl = out / "scratch-rl"
    run(EMBER, "rl", "--config", "configs/nano/grpo.yaml", f"run.dir={scratch_rl}", f"rl.init={scratch}",
        f"train.steps={args.rl_steps}", f"rl.eval_samples={args.samples}")
    rl_rows = metrics(scratch_rl)
    # Per generated token: the rollout's forward, the update's training step, and the frozen
    # reference's forward when a KL term is on.
    generated = rl_rows[-1].get("tokens_generated", 0)  # cumulative over the run
    reference = forward_per_token if rl["kl_coef"] > 0 else 0
    rl_flops = generated * (forward_per_token + train_per_token + reference)
    s_final = evaluate(str(scratch_rl), args.samples)
    s_total = scratch_steps * per_step + rl_flops
    s_points.append((s_total, s_final["accuracy"]))

    def fmt_flops(value):
        return "not reached" if value is None else f"{value:.3g}"

    lines = [
        f"| model | parameters | held-out {preset('distill', 'configs/nano/distill.yaml')['distill']['task']} accuracy (greedy, {args.samples}) | FLOPs spent | "
        f"FLOPs to reach {target:.3f} |",
        "|---|---|---|---|---|",
        f"| teacher ({args.teacher}) | {teacher['params']:,} | {teacher['accuracy']:.3f} | (its own pretrain + RL) | - |",
        f"| nano-student distilled ({args.steps} steps online KD) | {d_final['params']:,} | {d_final['accuracy']:.3f} "
        f"| {budget:.3g} (teacher {d_rows[-1]['flops_teacher']:.3g} + student {d_rows[-1]['flops_student']:.3g}) "
        f"| {fmt_flops(first_reaching(d_points, target))} |",
        f"| nano-student from scratch ({scratch_steps} pretrain steps + {args.rl_steps} RL steps) | "
        f"{s_final['params']:,} | {s_final['accuracy']:.3f} | {s_total:.3g} (pretrain {scratch_steps * per_step:.3g} + "
        f"RL ~{rl_flops:.3g}) | {fmt_flops(first_reaching(s_points, target))} |",
    ]
    table = "\n".join(lines)
    print()
    print(table)
    (out / "table.md").write_text(table + "\n")
    (out / "points.json").write_text(json.dumps({"teacher": teacher, "target": target, "distilled": d_points,
                                                 "scratch": s_points}, indent=2))
    kept = d_final["accuracy"] / teacher["accuracy"] if teacher["accuracy"] else math.nan
    print(f"\nstudent keeps {kept:.1%} of the teacher's accuracy (bar: 90%)")


if __name__ == "__main__":
    sys.exit(main())
