"""Shared fixtures of the test_export_*.py interop tests (not a test itself).

A tiny model without a training run: `ember tokenizer train` makes a tokenizer on generated text,
transformers builds a random LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM around it and
saves it with save_pretrained, and `ember import` turns that directory into an Ember checkpoint.
"""
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import torch

EMBER = os.environ["EMBER_BIN"]
SCRATCH = Path(os.environ["EMBER_TEST_TMP"])
PROMPTS = ["The quick brown fox", "counting 12 cats and 345 dogs", "<think>why?</think><answer>42</answer>",
           "  spaces\tand\nnewlines  ", "Où est la bibliothèque?"]

WORDS = ("the of and a to in is was that for it with as his on be at by had are but from or have an they which "
         "one you were all we when there can more if no out so said what up its about into than them only other "
         "new some could time these two may first then do any like my now over such our man me even most made "
         "after also did many before must through back years where much your way well down should because "
         "fox dog cat bird number answer think count sum").split()


def fresh_scratch():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    return SCRATCH


def ember(*args, expect_rc=0):
    """Runs the ember binary; returns the completed process (exits the test on an unexpected rc)."""
    result = subprocess.run([EMBER, *map(str, args)], capture_output=True, text=True)
    if expect_rc is not None and result.returncode != expect_rc:
        sys.exit(f"ember {' '.join(map(str, args))}: rc {result.returncode}, expected {expect_rc}\n"
                 f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def train_tokenizer(dir_path, vocab_size=420):
    """An Ember byte-level BPE tokenizer.json trained on generated text."""
    rng = random.Random(7)
    lines = []
    for _ in range(3000):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 12))]
        if rng.random() < 0.3:
            words.append(str(rng.randint(0, 9999)))
        lines.append(" ".join(words).capitalize() + rng.choice([".", "?", "!", ","]))
    text = dir_path / "corpus.txt"
    text.write_text("\n".join(lines) + "\n")
    out = dir_path / "tokenizer.json"
    ember("tokenizer", "train", "--input", text, "--vocab-size", vocab_size, "--out", out)
    return out


def special_ids(tokenizer_json):
    added = {t["content"]: t["id"] for t in json.loads(Path(tokenizer_json).read_text())["added_tokens"]}
    return added["<|bos|>"], added["<|eos|>"], added["<|pad|>"]


def tokenizer_vocab_size(tokenizer_json):
    data = json.loads(Path(tokenizer_json).read_text())
    ids = list(data["model"]["vocab"].values()) + [t["id"] for t in data["added_tokens"]]
    return max(ids) + 1


def build_hf_model(out_dir, family, tokenizer_json, tied, seed=0, max_shard_size=None):
    """A random transformers model of `family` (llama, qwen2, qwen3) saved with save_pretrained,
    plus the tokenizer. Norm weights and biases are randomised too so every tensor matters; the
    13 embedding rows past the tokenizer's ids are padding."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM
    bos, eos, pad = special_ids(tokenizer_json)
    common = dict(vocab_size=tokenizer_vocab_size(tokenizer_json) + 13, hidden_size=64, intermediate_size=96,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                  rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=tied, initializer_range=0.15,
                  bos_token_id=bos, eos_token_id=eos, pad_token_id=pad)
    if family == "llama":
        config, cls = LlamaConfig(**common), LlamaForCausalLM
    elif family == "qwen2":
        config, cls = Qwen2Config(**common, use_sliding_window=False), Qwen2ForCausalLM
    else:
        config, cls = Qwen3Config(**common, head_dim=32), Qwen3ForCausalLM  # head_dim != hidden / heads
    torch.manual_seed(seed)
    model = cls(config).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("norm.weight"):
                parameter.copy_(1 + 0.2 * torch.randn_like(parameter))
            elif name.endswith(".bias"):
                parameter.copy_(0.1 * torch.randn_like(parameter))
        # Padding rows (ids the tokenizer never produces) score 0, below the best real token, so
        # greedy decoding never picks an id that has no text.
        real = tokenizer_vocab_size(tokenizer_json)
        model.get_input_embeddings().weight[real:] = 0
        model.get_output_embeddings().weight[real:] = 0
    kwargs = {"max_shard_size": max_shard_size} if max_shard_size else {}
    model.save_pretrained(out_dir, **kwargs)
    shutil.copy(tokenizer_json, Path(out_dir) / "tokenizer.json")
    return model


def import_checkpoint(hf_dir, run_dir):
    """`ember import`; returns the checkpoint directory it prints."""
    result = ember("import", "--hf", hf_dir, "--out", run_dir)
    checkpoint = Path(result.stdout.strip().splitlines()[-1])
    assert (checkpoint / "manifest.json").is_file(), result.stdout
    return checkpoint


def load_safetensors(path):
    from safetensors.torch import load_file
    return load_file(str(path))


def checkpoint_tensors(checkpoint):
    """A checkpoint's parameters as whole torch tensors (ember_checkpoint: any format and layout)."""
    from ember_checkpoint import load_tensors
    return {name: torch.from_numpy(array) for name, array in load_tensors(checkpoint).items()}


def ember_encode(tokenizer_json, texts):
    """Ids of each text by `ember tokenizer encode` (one line per text; texts without newlines)."""
    result = subprocess.run([EMBER, "tokenizer", "encode", "--tokenizer", str(tokenizer_json)],
                            input="\n".join(texts) + "\n", capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"ember tokenizer encode failed: {result.stderr}")
    return [[int(x) for x in line.split()] for line in result.stdout.splitlines()]
