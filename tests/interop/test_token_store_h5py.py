"""`ember data prepare` writes the documented HDF5 token store layout, checked with h5py.

Trains a small tokenizer with `ember tokenizer train`, prepares a plain-text and a JSONL input
(plus a sharded and a compressed variant), then reads the stores with h5py only: dataset names,
dtypes, shapes, chunking, doc_offsets invariants, every attribute, ids < vocab_size, the tokenizer
hash (SHA-256 of the tokenizer.json file), and documents decoded by the `tokenizers` package equal
the input documents. `ember data inspect` must accept the store and reject a corrupted copy.
Exits non-zero on any mismatch.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
from tokenizers import Tokenizer

EMBER = os.environ["EMBER_BIN"]
TMP = os.environ.get("EMBER_TEST_TMP", "/tmp/ember_token_store_h5py")
shutil.rmtree(TMP, ignore_errors=True)
os.makedirs(TMP)

TEXT_DOCUMENTS = [
    "The quick brown fox jumps over the lazy dog.\nA second line of the same document.",
    "Zweites Dokument: Größe, Straße, über. 12345 + 678 = 13023",
    "def f(x):\n    return x * 2  # code keeps its indentation",
]
JSONL_DOCUMENTS = ["Привет, мир! 👋🏽", "<think>3 + 4 = 7</think><answer>7</answer>", "tabs\tand   spaces"]


def run(*args, expect_ok=True):
    result = subprocess.run([EMBER, *args], capture_output=True, text=True)
    if (result.returncode == 0) != expect_ok:
        sys.exit(f"ember {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def check(condition, message):
    if not condition:
        sys.exit(f"FAIL: {message}")


def read_store(path, tokenizer_file, expected_documents, sources):
    with h5py.File(path, "r") as f:
        check(set(f.keys()) == {"tokens", "doc_offsets"}, f"datasets of {path}: {list(f.keys())}")
        tokens, offsets = f["tokens"], f["doc_offsets"]
        attrs = dict(f.attrs)
        vocab_size = int(attrs["vocab_size"])
        expected_dtype = np.uint16 if vocab_size <= 65536 else np.uint32
        check(tokens.dtype == expected_dtype, f"tokens dtype {tokens.dtype} for vocab {vocab_size}")
        check(offsets.dtype == np.uint64, f"doc_offsets dtype {offsets.dtype}")
        check(tokens.ndim == 1 and offsets.ndim == 1, "1-D datasets")
        check(tokens.chunks is not None and offsets.chunks is not None, "chunked datasets")
        ids, ends = tokens[:], offsets[:]
        check(ends[0] == 0 and ends[-1] == len(ids), f"offsets run 0..{len(ids)}: {ends[0]}..{ends[-1]}")
        check(np.all(np.diff(ends.astype(np.int64)) >= 0), "monotone offsets")
        check(int(attrs["num_documents"]) == len(ends) - 1, "num_documents")
        check(int(attrs["num_tokens"]) == len(ids), "num_tokens")
        check(attrs["format"] == "ember.token_store" and int(attrs["format_version"]) == 1, "format attributes")
        check(int(ids.max()) < vocab_size, "ids below vocab_size")
        with open(tokenizer_file, "rb") as t:
            check(attrs["tokenizer_sha256"] == hashlib.sha256(t.read()).hexdigest(), "tokenizer_sha256")
        check(list(attrs["sources"]) == sources, f"sources {list(attrs['sources'])} != {sources}")
        hf = Tokenizer.from_file(tokenizer_file)
        check(int(attrs["eos_id"]) == hf.token_to_id("<|eos|>"), "eos_id is <|eos|>")
        check(hf.get_vocab_size(with_added_tokens=True) == vocab_size, "vocab_size matches the tokenizer")
        decoded = [hf.decode(ids[ends[d]:ends[d + 1]].tolist(), skip_special_tokens=False) for d in range(len(ends) - 1)]
        check(decoded == expected_documents, f"decoded documents differ:\n{decoded}\n{expected_documents}")
        return tokens.compression, len(ids)


def main():
    text_input = os.path.join(TMP, "docs.txt")
    with open(text_input, "w", encoding="utf-8") as f:
        f.write("\n\n".join(TEXT_DOCUMENTS) + "\n")
    jsonl_input = os.path.join(TMP, "docs.jsonl")
    with open(jsonl_input, "w", encoding="utf-8") as f:
        for document in JSONL_DOCUMENTS:
            f.write(json.dumps({"id": 1, "body": document}, ensure_ascii=False) + "\n")
    tokenizer_file = os.path.join(TMP, "tokenizer.json")
    corpus = os.path.join(TMP, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(TEXT_DOCUMENTS + JSONL_DOCUMENTS) * 20)
    run("tokenizer", "train", "--input", corpus, "--vocab-size", "400", "--out", tokenizer_file)

    # Files are read in sorted path order (docs.jsonl before docs.txt; the `sources` attribute keeps
    # the --input arguments as given); the plain-text file is split at blank lines on request (its
    # default unit is the whole file).
    everything = JSONL_DOCUMENTS + TEXT_DOCUMENTS
    sources = [text_input, jsonl_input]
    store = os.path.join(TMP, "store.h5")
    run("data", "prepare", "--input", text_input, jsonl_input, "--field", "body", "--document", "blank-line", "--tokenizer", tokenizer_file,
        "--out", store)
    compression, total = read_store(store, tokenizer_file, everything, sources)
    check(compression is None, "no compression by default")

    packed = os.path.join(TMP, "packed.h5")
    run("data", "prepare", "--input", text_input, jsonl_input, "--field", "body", "--document", "blank-line", "--tokenizer", tokenizer_file,
        "--out", packed, "--compression", "6")
    compression, _ = read_store(packed, tokenizer_file, everything, sources)
    check(compression == "gzip", f"compression {compression}")

    sharded = os.path.join(TMP, "sharded.h5")
    run("data", "prepare", "--input", text_input, jsonl_input, "--field", "body", "--document", "blank-line", "--tokenizer", tokenizer_file,
        "--out", sharded, "--shard-tokens", str(total // 3))
    shards = sorted(p for p in os.listdir(TMP) if p.startswith("sharded-") and p.endswith(".h5"))
    check(len(shards) >= 2 and shards[0] == "sharded-00000.h5", f"shards {shards}")
    seen = []
    for shard in shards:
        with h5py.File(os.path.join(TMP, shard), "r") as f:
            ids, ends = f["tokens"][:], f["doc_offsets"][:]
            seen += [ids[ends[d]:ends[d + 1]].tolist() for d in range(len(ends) - 1)]
    check(len(seen) == len(everything), f"sharded documents {len(seen)}")

    report = run("data", "inspect", store, "--tokenizer", tokenizer_file).stdout
    check(f"documents         {len(everything)}" in report and "histogram" in report, f"inspect output:\n{report}")
    check(everything[1] in report, "inspect decodes documents")

    broken = os.path.join(TMP, "broken.h5")
    shutil.copy(store, broken)
    with h5py.File(broken, "r+") as f:
        f.attrs["vocab_size"] = np.int64(5)
    result = run("data", "inspect", broken, expect_ok=False)
    check(result.returncode == 1 and broken in result.stderr and "not below vocab_size 5" in result.stderr,
          f"corrupt store error: {result.stderr}")
    print("token store layout OK:", store)


if __name__ == "__main__":
    main()
