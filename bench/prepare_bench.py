"""`ember data prepare` throughput and memory.

throughput  A directory of real files (default: every .py file of this machine's Python standard
            library, copied with its folder structure), one document per file, tokenized into a
            token store by `ember data prepare` and by Hugging Face `datasets` + `tokenizers` (the
            usual Python pipeline: `load_dataset("text", sample_by="document")`, then a batched
            `map` with the same tokenizer.json, `num_proc` processes), at 1 core and at all cores.
            Both times are whole runs from the files to tokens on disk (datasets writes its Arrow
            cache; Ember its HDF5 store); the token counts are checked to be equal. MB/s is input
            bytes per second.
memory      A generated JSONL input of N GB (Zipf words, one document per line, written once to
            --scratch) is prepared with `/usr/bin/time -v`; peak RSS at two sizes shows the
            memory does not grow with the input.

    python bench/prepare_bench.py throughput [--ember build/bin/ember] [--source /usr/lib/python3.11]
    python bench/prepare_bench.py memory [--gigabytes 0.25 1.0] [--scratch /tmp/prepare_bench]

`datasets` is not among scripts/setup.sh's packages: `pip install datasets` into the venv first.
Each mode prints a human table and one JSON line.
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_ember_prepare(ember, inputs, tokenizer, out, threads, extra=()):
    start = time.perf_counter()
    result = subprocess.run([ember, "data", "prepare", "--input", *inputs, "--tokenizer", tokenizer, "--out", out,
                             "--threads", str(threads), *extra], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    summary = result.stdout.strip().splitlines()[-1]
    tokens = int(re.search(r"documents, (\d+) tokens", summary).group(1))
    return seconds, tokens, summary


def run_hf_prepare(files, tokenizer_json, cache_dir, processes):
    """load_dataset + map(tokenize) in a fresh interpreter (clean caches, its own thread settings)."""
    code = f"""
import json, os, sys, time
os.environ["TOKENIZERS_PARALLELISM"] = "false" if {processes} > 1 else "true"
os.environ["RAYON_NUM_THREADS"] = "1"
start = time.perf_counter()
import datasets
from tokenizers import Tokenizer
datasets.disable_progress_bars()
files = json.load(open({json.dumps(str(cache_dir / "files.json"))}))
tok = Tokenizer.from_file({json.dumps(str(tokenizer_json))})
ds = datasets.load_dataset("text", data_files=files, sample_by="document", split="train",
                           cache_dir={json.dumps(str(cache_dir / "hf"))})
def encode(batch):
    return {{"ids": [e.ids for e in tok.encode_batch(batch["text"], add_special_tokens=False)]}}
ds = ds.map(encode, batched=True, batch_size=256, num_proc={processes} if {processes} > 1 else None,
            remove_columns=["text"])
tokens = sum(len(ids) for ids in ds["ids"])
print(json.dumps({{"seconds": time.perf_counter() - start, "tokens": tokens, "documents": len(ds)}}))
"""
    (cache_dir / "files.json").write_text(json.dumps([str(f) for f in files]))
    shutil.rmtree(cache_dir / "hf", ignore_errors=True)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def throughput(args):
    scratch = Path(tempfile.mkdtemp(prefix="prepare_bench_"))
    try:
        corpus = scratch / "corpus"
        files = []
        for path in sorted(Path(args.source).rglob("*.py")):
            if "__pycache__" in path.parts or any(p.startswith(".") for p in path.relative_to(args.source).parts):
                continue
            text = path.read_bytes()
            try:
                text.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if not text.strip():
                continue
            target = corpus / path.relative_to(args.source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text)
            files.append(target)
        megabytes = sum(f.stat().st_size for f in files) / 1e6
        tokenizer = scratch / "tokenizer.json"
        subprocess.run([args.ember, "tokenizer", "train", "--input", str(corpus), "--vocab-size", "8192", "--out",
                        str(tokenizer)], check=True, capture_output=True)
        cores = os.cpu_count()
        rows = []
        for threads in sorted({1, cores}):
            ember_s, ember_tokens, summary = run_ember_prepare(args.ember, [str(corpus)], str(tokenizer),
                                                               str(scratch / "out.h5"), threads)
            hf = run_hf_prepare(files, tokenizer, scratch, threads)
            assert hf["tokens"] == ember_tokens, f"token counts differ: datasets {hf['tokens']}, ember {ember_tokens}"
            rows.append({"cores": threads, "ember_s": ember_s, "hf_s": hf["seconds"],
                         "ember_mb_s": megabytes / ember_s, "hf_mb_s": megabytes / hf["seconds"],
                         "speedup": hf["seconds"] / ember_s, "tokens": ember_tokens})
        print(f"{len(files)} files, {megabytes:.1f} MB, {rows[0]['tokens']} tokens ({args.source} *.py)")
        print(f"ember: {summary}")
        print("cores | ember MB/s | datasets+tokenizers MB/s | ember speed-up")
        for r in rows:
            print(f"{r['cores']:5d} | {r['ember_mb_s']:10.2f} | {r['hf_mb_s']:24.2f} | {r['speedup']:.2f}x")
        print(json.dumps({"bench": "prepare_throughput", "files": len(files), "megabytes": megabytes, "rows": rows}))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


WORDS = [w.strip() for w in "the of and a to in is was that for it with as his on be at by had are but from or have an \
they which one you were all we when there can more if no out so said what up its about into than them only other \
new some could time these two may first then do any like my now over such our man me even most made after also \
did many before must through back years where much your way well down should because".split()]


def generate_jsonl(path, gigabytes):
    rng = random.Random(0)
    weights = [1.0 / (rank + 1) for rank in range(len(WORDS))]
    lines = []
    for _ in range(20000):
        words = rng.choices(WORDS, weights, k=rng.randint(50, 400))
        lines.append(json.dumps({"text": " ".join(words).capitalize() + "."}) + "\n")
    block = "".join(lines).encode()
    with open(path, "wb") as out:
        written = 0
        while written < gigabytes * 1e9:
            out.write(block)
            written += len(block)
    return written


def peak_rss_mb(command):
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=True)
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return kb / 1024, result.stdout.strip().splitlines()[-1]


def memory(args):
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    rows = []
    tokenizer = scratch / "tokenizer.json"
    for gigabytes in args.gigabytes:
        source = scratch / f"input_{gigabytes:g}gb.jsonl"
        if not source.exists():
            generate_jsonl(source, gigabytes)
        if not tokenizer.exists():
            sample = scratch / "sample.jsonl"
            with open(source, "rb") as f, open(sample, "wb") as out:
                out.write(f.read(20_000_000).rsplit(b"\n", 1)[0] + b"\n")
            subprocess.run([args.ember, "tokenizer", "train", "--input", str(sample), "--vocab-size", "4096", "--out",
                            str(tokenizer)], check=True, capture_output=True)
        start = time.perf_counter()
        rss, summary = peak_rss_mb([args.ember, "data", "prepare", "--input", str(source), "--tokenizer",
                                    str(tokenizer), "--out", str(scratch / "out.h5")])
        seconds = time.perf_counter() - start
        size = source.stat().st_size / 1e9
        rows.append({"input_gb": size, "peak_rss_mb": rss, "seconds": seconds, "mb_s": size * 1e3 / seconds})
        print(f"{size:.2f} GB input: peak RSS {rss:.0f} MB, {seconds:.0f} s ({size * 1e3 / seconds:.1f} MB/s); {summary}")
        (scratch / "out.h5").unlink(missing_ok=True)
    print(json.dumps({"bench": "prepare_memory", "rows": rows}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["throughput", "memory"])
    parser.add_argument("--ember", default="build/bin/ember")
    parser.add_argument("--source", default=f"/usr/lib/python3.{sys.version_info.minor}")
    parser.add_argument("--gigabytes", type=float, nargs="+", default=[0.25, 1.0])
    parser.add_argument("--scratch", default="/tmp/prepare_bench")
    args = parser.parse_args()
    throughput(args) if args.mode == "throughput" else memory(args)


if __name__ == "__main__":
    main()
