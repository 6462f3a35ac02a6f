"""Generation throughput, Ember vs transformers, on one model: a random Llama with the shape of
configs/model/25m.yaml is saved with transformers, imported with `ember import --hf`, and both
generate greedily with a KV cache for a batch of random prompts (no early stop). Runs alternate
(Ember, transformers, ...); the medians and the ratio (Ember / transformers) are printed.

Ember: `ember bench generate --checkpoint RUN --batch B --prompt-len P --new-tokens N` (prefill
included). transformers: `model.generate(ids, attention_mask, max_new_tokens=N, min_new_tokens=N,
do_sample=False)` with the same thread count, timed around the call (prefill included).

    python bench/compare_generate.py [--runs 5] [--batch 8] [--prompt-len 32] [--new-tokens 64] [--threads 2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

MODEL_25M = dict(vocab_size=8192, hidden_size=512, intermediate_size=1408, num_hidden_layers=6,
                 num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=1024, rope_theta=10000.0,
                 rms_norm_eps=1e-5, tie_word_embeddings=False, hidden_act="silu")


def ember_json(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def build_models(ember, scratch):
    """A random HF Llama in scratch/hf (with a small Ember tokenizer, which import requires) and
    its Ember import in scratch/run."""
    text = os.path.join(scratch, "text.txt")
    with open(text, "w") as f:
        f.write("the quick brown fox jumps over the lazy dog 0123456789\n" * 200)
    hf = os.path.join(scratch, "hf")
    os.makedirs(hf)
    tokenizer_run = subprocess.run([ember, "tokenizer", "train", "--input", text, "--vocab-size", "300",
                                      "--out", os.path.join(hf, "tokenizer.json")], capture_output=True, text=True)
    if tokenizer_run.returncode != 0:
        sys.exit(f"ember tokenizer train failed:\n{tokenizer_run.stderr[-2000:]}")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**MODEL_25M, bos_token_id=0, eos_token_id=1, pad_token_id=2))
    model.save_pretrained(hf)
    run = os.path.join(scratch, "run")
    done = subprocess.run([ember, "import", "--hf", hf, "--out", run], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"ember import failed:\n{done.stderr[-2000:]}")
    return model.eval(), run


def transformers_generate(model, args):
    torch.manual_seed(args.seed)
    ids = torch.randint(model.config.vocab_size, (args.batch, args.prompt_len))
    mask = torch.ones_like(ids)
    kwargs = dict(attention_mask=mask, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                  do_sample=False, use_cache=True, pad_token_id=2)
    with torch.inference_mode():
        model.generate(ids, **kwargs)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = model.generate(ids, **kwargs)
            times.append(time.perf_counter() - start)
    assert out.shape[1] == args.prompt_len + args.new_tokens
    seconds = statistics.median(times)
    return {"tokens_per_s": args.batch * args.new_tokens / seconds, "ms": seconds * 1e3}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ember", default="build/bin/ember")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="timed generations per run (median)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--prompt-len", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as scratch:
        model, run = build_models(args.ember, scratch)
        ember = [args.ember, "bench", "generate", "--checkpoint", run, "--batch", str(args.batch), "--prompt-len",
                 str(args.prompt_len), "--new-tokens", str(args.new_tokens), "--threads", str(args.threads),
                 "--repeats", str(args.repeats), "--seed", str(args.seed)]
        rows = {"ember": [], "transformers": []}
        for i in range(args.runs):
            rows["ember"].append(ember_json(ember)["tokens_per_s"])
            rows["transformers"].append(transformers_generate(model, args)["tokens_per_s"])
            print(f"run {i + 1}/{args.runs}: ember {rows['ember'][-1]:.1f} tok/s, "
                  f"transformers {rows['transformers'][-1]:.1f} tok/s", flush=True)
    summary = {name: statistics.median(values) for name, values in rows.items()}
    summary["ratio"] = summary["ember"] / summary["transformers"]
    summary.update(batch=args.batch, prompt_len=args.prompt_len, new_tokens=args.new_tokens, threads=args.threads,
                   runs=args.runs)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
