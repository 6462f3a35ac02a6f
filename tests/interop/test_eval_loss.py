"""`ember eval --data` against transformers: the loss Ember reports on a token store equals the loss
the exported Hugging Face model gives on the same packed rows.

A prose file becomes one whole-file document (`data prepare --document file`, the default); a
tiny model pretrains on it with a separate validation store (data.val) and is exported with
`ember export --format hf`. Python rebuilds the packed rows from the HDF5 store with h5py (the
document, then EOS; row k = stream tokens [k T, k T + T]) and averages transformers' next-token
loss over them. One document per store, so document masking changes nothing and the two models
see the same attention. The exported config.json says `dtype` (not the deprecated `torch_dtype`)
and transformers loads it without a deprecation warning.
"""
import json
import logging
import os
import random
import warnings
from pathlib import Path

import h5py
import numpy as np
import torch
from transformers import AutoModelForCausalLM

from export_fixtures import WORDS, ember, fresh_scratch

SEQ_LEN = 32
CONFIG = f"""
model: {{vocab_size: 400, d_model: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2, ffn_hidden: 160, max_seq_len: 64}}
train: {{steps: 10, batch_size: 4, seq_len: {SEQ_LEN}, log_interval: 5, eval_interval: 5, threads: 1}}
optim: {{lr: 3.0e-3, warmup_steps: 2}}
metrics: {{peak_flops: 1.0e10, tensorboard: false}}
data: {{tokenizer: tokenizer.json, train: [train.h5], val: [val.h5], val_tokens: 0, prefetch: 1}}
"""


def prose(seed, sentences):
    rng = random.Random(seed)
    lines = []
    for _ in range(sentences):
        lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))).capitalize() + ".")
        if rng.random() < 0.2:
            lines.append("")  # paragraphs: blank lines stay inside the one document
    return "\n".join(lines) + "\n"


def packed_rows(store_path, seq_len):
    with h5py.File(store_path, "r") as f:
        tokens = f["tokens"][:].astype(np.int64)
        offsets = f["doc_offsets"][:]
        eos = int(f.attrs["eos_id"])
    assert len(offsets) == 2, f"expected one whole-file document, got {len(offsets) - 1}"
    stream = np.concatenate([tokens, [eos]])
    rows = (len(stream) - 1) // seq_len
    return torch.tensor(np.stack([stream[k * seq_len: k * seq_len + seq_len + 1] for k in range(rows)]))


def main():
    scratch = fresh_scratch()
    os.chdir(scratch)
    Path("train").mkdir()
    Path("train/book.txt").write_text(prose(1, 400))
    Path("val.txt").write_text(prose(2, 60))
    ember("tokenizer", "train", "--input", "train", "--vocab-size", 384, "--out", "tokenizer.json")
    ember("data", "prepare", "--input", "train", "--tokenizer", "tokenizer.json", "--out", "train.h5")
    ember("data", "prepare", "--input", "val.txt", "--tokenizer", "tokenizer.json", "--out", "val.h5")
    Path("tiny.yaml").write_text(CONFIG)
    ember("pretrain", "--config", "tiny.yaml", "run.dir=run")
    metrics = [json.loads(line) for line in Path("run/metrics.jsonl").read_text().splitlines()]
    logged = [m["val_loss"] for m in metrics if "val_loss" in m]
    assert len(logged) == 2, metrics

    result = ember("eval", "--checkpoint", "run", "--data", "val.h5", "--seq-len", SEQ_LEN)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    rows = packed_rows("val.h5", SEQ_LEN)
    assert report["tokens"] == rows.shape[0] * SEQ_LEN, (report, rows.shape)
    assert abs(report["perplexity"] - np.exp(report["loss"])) < 1e-9 * report["perplexity"]
    # Pretraining's final validation is the same evaluation (whole store, training seq_len).
    assert abs(logged[-1] - report["loss"]) < 1e-5, (logged[-1], report["loss"])

    ember("export", "--checkpoint", "run", "--format", "hf", "--out", "hf")
    config = json.loads(Path("hf/config.json").read_text())
    assert config.get("dtype") == "float32" and "torch_dtype" not in config, config
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logging.getLogger("transformers").addHandler(handler)
        model = AutoModelForCausalLM.from_pretrained("hf", dtype=torch.float32).eval()
        logging.getLogger("transformers").removeHandler(handler)
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in records]
    assert not any("torch_dtype" in m for m in messages), messages

    with torch.no_grad():
        logits = model(rows[:, :-1]).logits.double()
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1)).item()
    assert abs(loss - report["loss"]) < 1e-4, f"transformers loss {loss} != ember eval {report['loss']}"
    print(f"ember eval loss {report['loss']:.6f}, transformers {loss:.6f}, {report['tokens']} tokens")


if __name__ == "__main__":
    main()
