"""Training throughput, Ember vs PyTorch: runs `ember bench train` and bench/train_reference.py
alternately (Ember, reference, Ember, ...) so that both see the same machine load, then prints
the median tokens/s of each, the ratio (Ember / PyTorch, > 1 means Ember is faster) and Ember's
MFU against its measured GEMM peak. Each run also reports process CPU time per step (cpu_ms),
which is less disturbed than wall time when other jobs share the cores; both ratios are printed.

    python bench/compare_train.py [--runs 5] [--steps 10] [--warmup 3] [--compile] [--ember build/bin/ember]
                                  [--config configs/bench/train-25m.yaml] [-- key=value ...]

--compile adds a torch.compile row (inductor; its compile time is spent in the warm-up steps).
Extra key=value arguments after `--` go to Ember only (model changes must be mirrored by hand).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def last_json(output):
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON line in output:\n" + output[-2000:])


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return last_json(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ember", default="build/bin/ember")
    parser.add_argument("--config", default="configs/bench/train-25m.yaml")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("overrides", nargs="*", help="key=value overrides for Ember")
    args = parser.parse_args()

    ember = [args.ember, "bench", "train", "--config", args.config, f"bench.steps={args.steps}",
             f"bench.warmup_steps={args.warmup}", *args.overrides]
    reference = [sys.executable, os.path.join(HERE, "train_reference.py"), "--config", args.config,
                 "--steps", str(args.steps), "--warmup", str(args.warmup)]
    rows = {"ember": [], "pytorch eager": []}
    if args.compile:
        rows["pytorch torch.compile"] = []
    for i in range(args.runs):
        rows["ember"].append(run(ember))
        rows["pytorch eager"].append(run(reference))
        if args.compile:
            rows["pytorch torch.compile"].append(run(reference + ["--compile"]))
        print(f"run {i + 1}/{args.runs}: " + ", ".join(
            f"{name} {r[-1]['tokens_per_s']:.1f} tok/s ({r[-1]['cpu_ms']:.0f} cpu ms)" for name, r in rows.items()),
            flush=True)

    def median(name, key):
        return statistics.median(r[key] for r in rows[name])

    summary = {"runs": args.runs, "steps": args.steps, "warmup": args.warmup}
    for name in rows:
        summary[name] = {"tokens_per_s": median(name, "tokens_per_s"), "step_ms": median(name, "step_ms"),
                         "cpu_ms": median(name, "cpu_ms"), "mfu": median(name, "mfu")}
    for name in rows:
        if name == "ember":
            continue
        summary[f"ratio vs {name}"] = summary["ember"]["tokens_per_s"] / summary[name]["tokens_per_s"]
        summary[f"cpu-time ratio vs {name}"] = summary[name]["cpu_ms"] / summary["ember"]["cpu_ms"]
    summary["ember peak_flops"] = median("ember", "peak_flops")
    for name, value in summary.items():
        print(f"{name}: {value}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
