"""Export of a checkpoint that Ember trained itself (not imported): its special tokens come from
the tokenizer (<|bos|>, <|eos|>, <|pad|>) and Ember's chat template.

A tiny pretraining run (generated tasks, `ember tokenizer train`, `ember data prepare`, a few
steps), then `scripts/export.sh RUN_DIR f32 q8_0`:
  * transformers loads RUN_DIR/export/hf; its greedy continuations equal `ember generate`'s;
  * the exported tokenizer encodes as Ember's; bos / eos / pad are Ember's special tokens;
  * the GGUF reads back with the `gguf` package with the same special ids and every tensor;
  * import(export) restores the trained weights bit for bit.
"""
import json
import os
import subprocess
from pathlib import Path

import torch
from gguf import GGUFReader
from transformers import AutoModelForCausalLM

from export_fixtures import checkpoint_tensors, PROMPTS, ember, fresh_scratch, import_checkpoint, load_safetensors, special_ids
from test_export_hf import check_directory, check_ember_generation, check_tokenizer

CONFIG = """
model: {vocab_size: 400, d_model: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2, ffn_hidden: 160, max_seq_len: 128}
train: {steps: 12, batch_size: 4, seq_len: 64, log_interval: 4, threads: 1}
optim: {lr: 3.0e-3, warmup_steps: 2}
metrics: {peak_flops: 1.0e10, tensorboard: false}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.05, prefetch: 1}
"""


def main():
    scratch = fresh_scratch()
    os.chdir(scratch)
    ember("data", "generate", "--task", "all", "--count", "600", "--seed", "3", "--split", "train", "--out", "corpus.jsonl")
    ember("tokenizer", "train", "--input", "corpus.jsonl", "--field", "text", "--vocab-size", 384, "--out",
          "tokenizer.json")
    ember("data", "prepare", "--input", "corpus.jsonl", "--field", "text", "--tokenizer", "tokenizer.json", "--out",
          "corpus.h5")
    Path("tiny.yaml").write_text(CONFIG)
    ember("pretrain", "--config", "tiny.yaml", "run.dir=run")
    run = scratch / "run"

    script = Path(os.environ["EMBER_SOURCE_DIR"]) / "scripts" / "export.sh"
    result = subprocess.run(["bash", str(script), str(run), "f32", "q8_0"], capture_output=True, text=True,
                            env={**os.environ, "EMBER": os.environ["EMBER_BIN"]})
    assert result.returncode == 0, result.stdout + result.stderr
    hf_dir, gguf_file = run / "export" / "hf", run / "export" / "model-q8_0.gguf"
    assert sorted(p.name for p in (run / "export").iterdir()) == ["hf", "model-q8_0.gguf"]

    bos, eos, pad = special_ids(scratch / "tokenizer.json")
    config = check_directory(hf_dir, tied=True)
    assert (config["bos_token_id"], config["eos_token_id"], config["pad_token_id"]) == (bos, eos, pad), config
    assert config["architectures"] == ["LlamaForCausalLM"] and config["vocab_size"] == 400

    checkpoint = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
    exported = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32).eval()
    check_ember_generation(checkpoint, exported, ["What is 12 + 34?\n", *[p for p in PROMPTS if "\n" not in p]])
    check_tokenizer(hf_dir, scratch / "tokenizer.json")

    reader = GGUFReader(str(gguf_file))
    for key, want in (("tokenizer.ggml.bos_token_id", bos), ("tokenizer.ggml.eos_token_id", eos),
                      ("tokenizer.ggml.padding_token_id", pad)):
        assert reader.fields[key].contents() == want, key
    assert len(reader.tensors) == len(checkpoint_tensors(checkpoint))

    again = import_checkpoint(hf_dir, scratch / "reimported")
    first, second = checkpoint_tensors(checkpoint), checkpoint_tensors(again)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    print("export of an Ember-trained checkpoint: OK")


if __name__ == "__main__":
    main()
