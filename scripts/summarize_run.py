#!/usr/bin/env python3
"""Prints a short results table for one or more Ember run directories (from metrics.jsonl)."""
import json
import sys
from pathlib import Path


def summarize(run_dir: Path) -> dict:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    if not rows:
        raise SystemExit(f"{run_dir}/metrics.jsonl has no rows")
    train = [r for r in rows if r.get("loss") is not None]
    evals = [r for r in rows if r.get("val_loss") is not None]
    speed = [r["tokens_per_s"] for r in train if r.get("tokens_per_s")]
    mfu = [r["mfu"] for r in train if r.get("mfu") is not None]
    return {
        "run": str(run_dir),
        "steps": rows[-1]["step"],
        "first loss": train[0]["loss"] if train else None,
        "last loss": train[-1]["loss"] if train else None,
        "val loss": evals[-1]["val_loss"] if evals else None,
        "tokens/s": sorted(speed)[len(speed) // 2] if speed else None,
        "MFU": sorted(mfu)[len(mfu) // 2] if mfu else None,
        "PFLOPs": rows[-1].get("flops_total", 0) / 1e15,
    }


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: summarize_run.py RUN_DIR [RUN_DIR ...]")
    table = [summarize(Path(arg)) for arg in sys.argv[1:]]
    headers = list(table[0].keys())
    cells = [[fmt(row[h]) for h in headers] for row in table]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in cells:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths)))


if __name__ == "__main__":
    main()
