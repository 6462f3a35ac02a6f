"""Single-thread encode speed: `ember tokenizer encode --threads 1` vs the `tokenizers` package.

Both encode the same lines with the same tokenizer.json; the ids are checked to be identical and
the ratio (tokenizers time / ember time, > 1 means Ember is faster) is printed. Ember's time is
the whole command (process start, loading, reading, encoding, printing ids); the `tokenizers`
time is only `encode_batch` on lines already in memory, with RAYON_NUM_THREADS=1.

    python bench/tokenizer_bench.py [--ember build/bin/ember] [--megabytes 20] [--tokenizer T.json] [--text FILE]

Without --text, a synthetic corpus is generated (Zipf-distributed words in several scripts,
numbers, code, whitespace); without --tokenizer, a 32k GPT-4-pattern tokenizer is trained on it
with `tokenizers`.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402

GPT4_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SYLLABLES = {
    "latin": "ka ri to ne su ma lo pe ti an er in on th st re ed ing the ou".split(),
    "cyrillic": "ка ро ви не ст ал ми до пр ен".split(),
    "greek": "κα λη με ρα το σμ ος".split(),
    "cjk": "的 一 是 不 了 人 我 在 有 他 这 中 大 来 上".split(),
    "devanagari": "न म स ते दु नि या भा षा".split(),
}
CODE = ["    return x + y;", "for i in range(10):", "if (a != b) { c++; }", "x = {'k': [1, 2, 3]}", "\t# comment"]


def synthetic_lines(megabytes, seed=0):
    rng = random.Random(seed)
    lexicon = []
    for script, parts in SYLLABLES.items():
        for _ in range(4000 if script == "latin" else 800):
            lexicon.append("".join(rng.choice(parts) for _ in range(rng.randint(1, 4))))
    weights = [1.0 / (rank + 1) for rank in range(len(lexicon))]
    lines, size = [], 0
    while size < megabytes * 1_000_000:
        roll = rng.random()
        if roll < 0.05:
            line = rng.choice(CODE)
        else:
            words = rng.choices(lexicon, weights, k=rng.randint(5, 40))
            for i in range(len(words)):
                if rng.random() < 0.05:
                    words[i] = str(rng.randint(0, 10**rng.randint(1, 9)))
                elif rng.random() < 0.08:
                    words[i] += rng.choice(",.;:!?")
                elif rng.random() < 0.1:
                    words[i] = words[i].capitalize()
            line = " ".join(words)
        lines.append(line)
        size += len(line.encode()) + 1
    return lines


def train(lines, path):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(GPT4_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=32000, special_tokens=["<|eos|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(lines, trainer)
    tokenizer.save(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--ember", default=os.path.join(root, "build", "bin", "ember"))
    parser.add_argument("--megabytes", type=float, default=20)
    parser.add_argument("--tokenizer")
    parser.add_argument("--text")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="ember_tokenizer_bench_")
    if args.text:
        with open(args.text, encoding="utf-8") as f:
            lines = f.read().split("\n")
    else:
        lines = synthetic_lines(args.megabytes)
    text_path = os.path.join(work, "text.txt")
    with open(text_path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(line + "\n" for line in lines))
    tokenizer_path = args.tokenizer or os.path.join(work, "tokenizer.json")
    if not args.tokenizer:
        train(lines, tokenizer_path)
    megabytes = os.path.getsize(text_path) / 1e6

    hf = Tokenizer.from_file(tokenizer_path)
    hf_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        expected = hf.encode_batch(lines, add_special_tokens=False)
        hf_times.append(time.perf_counter() - start)

    ember_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = subprocess.run([args.ember, "tokenizer", "encode", "--tokenizer", tokenizer_path, "--input", text_path,
                                 "--threads", "1"], capture_output=True, check=True)
        ember_times.append(time.perf_counter() - start)

    rows = result.stdout.decode().split("\n")[:-1]
    mismatches = sum(1 for row, enc in zip(rows, expected) if [int(t) for t in row.split()] != enc.ids)
    if len(rows) != len(lines) or mismatches:
        shutil.rmtree(work)
        sys.exit(f"FAILED: {mismatches} of {len(lines)} lines differ between Ember and tokenizers")
    tokens = sum(len(e.ids) for e in expected)
    hf_best, ember_best = min(hf_times), min(ember_times)
    print(f"text: {megabytes:.1f} MB, {len(lines)} lines, {tokens} tokens, tokenizer {tokenizer_path}")
    print(f"tokenizers (1 thread, encode_batch only): {hf_best:.3f} s  {megabytes / hf_best:.2f} MB/s")
    print(f"ember tokenizer encode --threads 1 (whole command): {ember_best:.3f} s  {megabytes / ember_best:.2f} MB/s")
    print(f"speed ratio ember / tokenizers: {hf_best / ember_best:.2f}x")
    shutil.rmtree(work)


main()
