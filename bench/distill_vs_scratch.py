#!/usr/bin/env python3
"""Distillation vs training from scratch at equal compute: the table of docs/results.md.

Runs, on the nano pipeline's data (scripts/quickstart.sh stages 1-3 must have run):
  1. the teacher's held-out accuracy (`ember eval`);
  2. the distilled student: `ember distill` (configs/nano/distill.yaml) from the teacher into
     nano-student, evaluated every --eval-interval steps; its compute is the teacher's forwards
     plus the student's training, both from the run's metrics;
  3. the same student from scratch with the same total FLOPs: `ember pretrain` of nano-student for
     as many steps as that budget buys (minus the RL stage's estimated FLOPs), evaluated at the same
     points, then `ember rl` (configs/nano/grpo.yaml) on it;
and prints a markdown table: accuracy and FLOPs of each, and the FLOPs each needed to first reach a
fixed accuracy (--target, default 90% of the teacher's). Outputs go to --out (default
runs/bench-distill). FLOPs follow model/flops.h (forward 2N + attention, training 6N + attention);
RL FLOPs are estimated from its logged token counts: generated tokens x forward + trained tokens x
training FLOPs per token.
"""
import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMBER = os.environ.get("EMBER_BIN", str(ROOT / "build/bin/ember"))
TASK = "word_problems"


def run(*args: str) -> str:
    print("+", " ".join(args), flush=True)
    result = subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
    return result.stdout


def evaluate(checkpoint: str, samples: int) -> dict:
    out = run(EMBER, "eval", "--checkpoint", checkpoint, "--task", TASK, "--samples", str(samples),
              "--max-new-tokens", "64")
    return json.loads(out.strip().splitlines()[-1])


def metrics(run_dir: Path) -> list:
    return [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()]


def student_flops_per_token(seq_len: int) -> tuple:
    """(training, forward) FLOPs per token of nano-student at seq_len (model/flops.h)."""
    c, layers, heads, ffn, vocab = 64, 3, 2, 192, 1024
    head_dim = c // heads
    n = layers * (4 * c * heads * head_dim + 3 * c * ffn) + vocab * c
    attention = layers * seq_len * heads * head_dim
    return 6 * n + 12 * attention, 2 * n + 4 * attention


def first_reaching(points: list, target: float):
    for flops, accuracy in points:
        if accuracy >= target:
            return flops
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="runs/quickstart/rl")
    parser.add_argument("--out", default="runs/bench-distill")
    parser.add_argument("--steps", type=int, default=400, help="distillation steps")
    parser.add_argument("--eval-interval", type=int, default=100)
    parser.add_argument("--samples", type=int, default=200, help="held-out problems per evaluation")
    parser.add_argument("--rl-steps", type=int, default=40)
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

    train_per_token, forward_per_token = student_flops_per_token(seq_len)
    rl_estimate = args.rl_steps * 16 * 8 * 64 * (forward_per_token + train_per_token)  # upper bound: full lengths
    per_step = train_per_token * batch * seq_len
    scratch_steps = max(1, int((budget - rl_estimate) // per_step))
    scratch = out / "scratch-pretrain"
    overrides = [f"run.dir={scratch}", f"train.steps={scratch_steps}", f"checkpoint.interval={args.eval_interval}",
                 "checkpoint.keep=100", f"train.eval_interval={args.eval_interval}"]
    student_config = out / "scratch-pretrain.yaml"
    out.mkdir(parents=True, exist_ok=True)
    student_config.write_text(f"base: [{ROOT / 'configs/nano/pretrain.yaml'}, {ROOT / 'configs/model/nano-student.yaml'}]\n")
    run(EMBER, "pretrain", "--config", str(student_config), *overrides)
    s_points = []
    for checkpoint in sorted((scratch / "checkpoints").glob("step_*")):
        step = int(checkpoint.name.split("_")[1])
        s_points.append((step * per_step, evaluate(str(checkpoint), args.samples)["accuracy"]))
    scratch_rl = out / "scratch-rl"
    run(EMBER, "rl", "--config", "configs/nano/grpo.yaml", f"run.dir={scratch_rl}", f"rl.init={scratch}",
        f"train.steps={args.rl_steps}", f"rl.eval_samples={args.samples}")
    rl_rows = metrics(scratch_rl)
    generated = rl_rows[-1].get("tokens_generated", 0)
    rl_flops = generated * (forward_per_token + train_per_token)
    s_final = evaluate(str(scratch_rl), args.samples)
    s_total = scratch_steps * per_step + rl_flops
    s_points.append((s_total, s_final["accuracy"]))

    def fmt_flops(value):
        return "not reached" if value is None else f"{value:.3g}"

    lines = [
        f"| model | parameters | held-out {TASK} accuracy (greedy, {args.samples}) | FLOPs spent | "
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
