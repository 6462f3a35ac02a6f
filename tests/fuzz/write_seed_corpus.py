#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/: small valid
files of each format plus near-valid ones that stop at one check each (standard library only).
Re-running it rewrites the same files."""
import json
import struct
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"
GPT4_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
              r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def write(target, name, content):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())


def safetensors(header, buffer=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + buffer


def safetensors_seeds():
    two_by_two = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
    write("safetensors", "valid_f32", safetensors(two_by_two, bytes(range(16))))
    write("safetensors", "valid_mixed_metadata", safetensors(
        {"__metadata__": {"format": "pt"}, "a": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]},
         "b": {"dtype": "I64", "shape": [], "data_offsets": [6, 14]},
         "c": {"dtype": "U8", "shape": [0, 5], "data_offsets": [14, 14]}}, bytes(14)))
    write("safetensors", "empty_header", safetensors({}))
    write("safetensors", "offsets_past_end", safetensors(two_by_two, bytes(8)))
    write("safetensors", "overlapping", safetensors(
        {"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
         "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, bytes(6)))
    write("safetensors", "huge_shape", safetensors(
        {"w": {"dtype": "F64", "shape": [2**47, 2**47], "data_offsets": [0, 8]}}, bytes(8)))
    write("safetensors", "header_length_lies", struct.pack("<Q", 2**40) + b"{}")


def byte_level_alphabet():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    mapping, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            mapping[byte] = chr(byte)
        else:
            mapping[byte] = chr(256 + extra)
            extra += 1
    return mapping


def tokenizer(merges, added=(), pre_tokenizer=None, normalizer=None):
    alphabet = byte_level_alphabet()
    vocab = {alphabet[b]: b for b in range(256)}
    merge_list = []
    for left, right in merges:
        a = "".join(alphabet[b] for b in left.encode())
        c = "".join(alphabet[b] for b in right.encode())
        merge_list.append([a, c])
        vocab.setdefault(a + c, len(vocab))
    added_tokens = []
    for content in added:
        added_tokens.append({"id": len(vocab), "content": content, "single_word": False, "lstrip": False,
                             "rstrip": False, "normalized": False, "special": True})
        vocab[content] = len(vocab)
    if pre_tokenizer is None:
        pre_tokenizer = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": GPT4_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    return json.dumps({"version": "1.0", "added_tokens": added_tokens, "normalizer": normalizer,
                       "pre_tokenizer": pre_tokenizer, "post_processor": None,
                       "decoder": {"type": "ByteLevel"},
                       "model": {"type": "BPE", "dropout": None, "vocab": vocab, "merges": merge_list}})


def tokenizer_seeds():
    merges = [("H", "e"), ("He", "l"), ("l", "o"), (" ", "w"), ("1", "2")]
    write("tokenizer_json", "llama3_style", tokenizer(merges, ["<|eos|>", "<|pad|>"]))
    write("tokenizer_json", "gpt2_bytelevel_nfc", tokenizer(
        merges, ["<|eos|>"], pre_tokenizer={"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
        normalizer={"type": "NFC"}))
    write("tokenizer_json", "no_merges", tokenizer([]))
    broken = json.loads(tokenizer(merges))
    broken["model"]["merges"].append(["zz", "qq"])
    write("tokenizer_json", "merge_of_unknown_token", json.dumps(broken))
    duplicate = json.loads(tokenizer(merges))
    duplicate["model"]["vocab"]["extra"] = 3
    write("tokenizer_json", "duplicate_id", json.dumps(duplicate))


def config_seeds():
    write("config", "valid_nested", "train:\n  steps: 20\n  lr: 3.0e-4\n  mode: never\n  flag: true\n"
                                   "data:\n  names: [a, b]\n  weights: [0.5, 0.5]\n")
    write("config", "valid_flat_keys", "train.tokens: 123456789012\ntrain.flag: false\n")
    write("config", "override_list", "data.names=[x, y, z]")
    write("config", "override_float", "train.lr=1e30")
    write("config", "wrong_types", "train:\n  steps: many\n  flag: maybe\n  mode: [1, 2]\n")
    write("config", "unknown_key", "trian:\n  steps: 3\n")
    write("config", "anchors", "defaults: &d {steps: 3}\ntrain: *d\n")
    write("config", "not_a_mapping", "- 1\n- 2\n")


def hf_config_seeds():
    llama = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 512, "hidden_size": 64,
             "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
             "rope_theta": 10000.0, "tie_word_embeddings": True, "hidden_act": "silu", "attention_bias": False,
             "bos_token_id": 1, "eos_token_id": [2, 3], "pad_token_id": None, "torch_dtype": "float32"}
    write("hf_config", "llama", json.dumps(llama, indent=1))
    qwen3 = dict(llama, architectures=["Qwen3ForCausalLM"], model_type="qwen3", eos_token_id=2)
    write("hf_config", "qwen3", json.dumps(qwen3))
    qwen2 = dict(llama, architectures=["Qwen2ForCausalLM"], model_type="qwen2")
    qwen2.pop("head_dim")
    write("hf_config", "qwen2_no_head_dim", json.dumps(qwen2))
    write("hf_config", "rope_scaling", json.dumps(dict(llama, rope_scaling={"type": "linear", "factor": 2.0})))
    write("hf_config", "mistyped_heads", json.dumps(dict(llama, num_attention_heads="4")))
    write("hf_config", "zero_heads", json.dumps(dict(llama, num_attention_heads=0, num_key_value_heads=0)))


if __name__ == "__main__":
    safetensors_seeds()
    tokenizer_seeds()
    config_seeds()
    hf_config_seeds()
