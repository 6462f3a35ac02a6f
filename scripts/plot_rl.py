#!/usr/bin/env python3
"""Plots the curves of `ember rl` runs from their metrics.jsonl: training reward, sampled accuracy,
held-out greedy accuracy (eval_accuracy) and mean response length against the RL step.

    scripts/plot_rl.py --out docs/rl_quickstart.png runs/quickstart/rl [more run dirs ...]
"""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)


def read_rows(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise SystemExit(f"{path} has no rows")
    return rows


def series(rows: list[dict], key: str) -> tuple[list[int], list[float]]:
    points = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
    return [p[0] for p in points], [p[1] for p in points]


def smooth(values: list[float], window: int) -> list[float]:
    """Trailing moving average, so that the per-step noise of small batches does not hide the trend."""
    out = []
    for i in range(len(values)):
        part = values[max(0, i - window + 1) : i + 1]
        out.append(sum(part) / len(part))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="RL run directories")
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--smooth", type=int, default=5, help="moving-average window for per-step curves")
    args = parser.parse_args()

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for run in args.runs:
        rows = read_rows(run)
        label = run.name
        steps, reward = series(rows, "reward_mean")
        axes[0].plot(steps, smooth(reward, args.smooth), label=f"{label}: reward (sampled)")
        steps, accuracy = series(rows, "accuracy")
        axes[1].plot(steps, smooth(accuracy, args.smooth), alpha=0.6, label=f"{label}: sampled accuracy")
        steps, held_out = series(rows, "eval_accuracy")
        axes[1].plot(steps, held_out, marker="o", label=f"{label}: held-out greedy accuracy")
        steps, length = series(rows, "response_length_mean")
        axes[2].plot(steps, smooth(length, args.smooth), label=f"{label}: mean response tokens")
    titles = ["training reward", "accuracy", "response length"]
    for axis, title in zip(axes, titles):
        axis.set_title(title)
        axis.set_xlabel("RL step")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
