"""`ember export --format gguf` read back with the `gguf` package (gguf-py, llama.cpp's reader).

For an imported tied Llama and an untied Qwen3 (and a Qwen2 with biases), in every dtype:
  * every metadata key is present with the value type llama.cpp's loader checks (u32 counts,
    f32 epsilon and rope base, string / array tokenizer data) and the values of the model;
  * tokens are padded to the embedding rows ("[PAD<id>]", type unused), special tokens are
    control tokens, merges and the pre-tokenizer name match the tokenizer;
  * every tensor is there with llama.cpp's name and shape; 1-D tensors are F32; F32 tensors equal
    the checkpoint bit for bit (q / k rows permuted for arch llama, as convert_hf_to_gguf does);
    F16, BF16 and Q8_0 bytes equal gguf-py's own quantize() of the same values, and Q8_0
    dequantizes within half a step (plus the f16 rounding of the scale) of the source;
  * offsets are aligned and sequential, names shorter than 64 bytes;
  * scripts/export.sh writes both formats for a run directory.
"""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType
from gguf.quants import dequantize, quantize

from export_fixtures import (checkpoint_tensors, build_hf_model, ember, fresh_scratch, import_checkpoint, load_safetensors,
                             special_ids, train_tokenizer)

TYPES = {"f32": GGMLQuantizationType.F32, "f16": GGMLQuantizationType.F16, "bf16": GGMLQuantizationType.BF16,
         "q8_0": GGMLQuantizationType.Q8_0}
FILE_TYPES = {"f32": 0, "f16": 1, "q8_0": 7, "bf16": 32}


def gguf_name(hf):
    table = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    if hf in table:
        return table[hf]
    parts = hf.split(".")
    block, rest = parts[2], ".".join(parts[3:])
    rest = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
            "self_attn.o_proj.weight": "attn_output.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
            "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
            "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight"}.get(
        rest, rest.replace("self_attn.", "attn_").replace("_proj", ""))
    return f"blk.{block}.{rest}"


def llama_permute(w, heads):
    """convert_hf_to_gguf.py LlamaModel.permute."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def field(reader, key, value_type):
    f = reader.fields.get(key)
    assert f is not None, f"missing key {key}"
    assert f.types[0] == value_type, (key, f.types, value_type)
    return f.contents()


def check_metadata(reader, arch, config, tokenizer_json, dtype):
    u32, f32, string = GGUFValueType.UINT32, GGUFValueType.FLOAT32, GGUFValueType.STRING
    assert field(reader, "general.architecture", string) == arch
    assert field(reader, "general.file_type", u32) == FILE_TYPES[dtype]
    if dtype == "q8_0":
        assert field(reader, "general.quantization_version", u32) == 2
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    expected = {"context_length": config["max_position_embeddings"], "embedding_length": config["hidden_size"],
                "block_count": config["num_hidden_layers"], "feed_forward_length": config["intermediate_size"],
                "attention.head_count": config["num_attention_heads"],
                "attention.head_count_kv": config["num_key_value_heads"], "rope.dimension_count": head_dim,
                "attention.key_length": head_dim, "attention.value_length": head_dim,
                "vocab_size": config["vocab_size"]}
    for key, value in expected.items():
        assert field(reader, f"{arch}.{key}", u32) == value, key
    assert np.float32(field(reader, f"{arch}.attention.layer_norm_rms_epsilon", f32)) == np.float32(config["rms_norm_eps"])
    rope_theta = config.get("rope_theta") or config["rope_parameters"]["rope_theta"]  # transformers v5 nests it
    assert np.float32(field(reader, f"{arch}.rope.freq_base", f32)) == np.float32(rope_theta)

    vocab = json.loads(Path(tokenizer_json).read_text())
    assert field(reader, "tokenizer.ggml.model", string) == "gpt2"
    assert field(reader, "tokenizer.ggml.pre", string) == "llama-bpe"
    tokens = field(reader, "tokenizer.ggml.tokens", GGUFValueType.ARRAY)
    types = field(reader, "tokenizer.ggml.token_type", GGUFValueType.ARRAY)
    assert reader.fields["tokenizer.ggml.token_type"].types[-1] == GGUFValueType.INT32
    assert len(tokens) == len(types) == config["vocab_size"]
    added_ids = {t["id"] for t in vocab["added_tokens"]}
    for token, index in vocab["model"]["vocab"].items():
        assert tokens[index] == token and (index in added_ids or types[index] == 1), (index, token)
    for added in vocab["added_tokens"]:
        assert tokens[added["id"]] == added["content"] and types[added["id"]] == 3, added
    known = set(vocab["model"]["vocab"].values()) | {t["id"] for t in vocab["added_tokens"]}
    for index in set(range(config["vocab_size"])) - known:
        assert tokens[index] == f"[PAD{index}]" and types[index] == 5, index
    merges = [m if isinstance(m, str) else " ".join(m) for m in vocab["model"]["merges"]]
    assert field(reader, "tokenizer.ggml.merges", GGUFValueType.ARRAY) == merges
    bos, eos, pad = special_ids(tokenizer_json)
    assert field(reader, "tokenizer.ggml.bos_token_id", u32) == bos
    assert field(reader, "tokenizer.ggml.eos_token_id", u32) == eos
    assert field(reader, "tokenizer.ggml.padding_token_id", u32) == pad
    assert field(reader, "tokenizer.ggml.add_bos_token", GGUFValueType.BOOL) is False
    assert "{%" in field(reader, "tokenizer.chat_template", string)


def check_tensors(reader, arch, config, source, dtype):
    alignment = 32
    want = {gguf_name(name): value.numpy() for name, value in source.items()}
    got = {t.name: t for t in reader.tensors}
    assert set(got) == set(want), sorted(set(got) ^ set(want))
    expected_offset = reader.tensors[0].data_offset
    assert expected_offset % alignment == 0
    for tensor in reader.tensors:  # sequential, aligned offsets in tensor-info order
        assert tensor.data_offset == expected_offset, (tensor.name, tensor.data_offset, expected_offset)
        expected_offset += (int(tensor.n_bytes) + alignment - 1) // alignment * alignment
        assert len(tensor.name.encode()) < 64
    for name, values in want.items():
        tensor = got[name]
        if arch == "llama" and name.endswith("attn_q.weight"):
            values = llama_permute(values, config["num_attention_heads"])
        if arch == "llama" and name.endswith("attn_k.weight"):
            values = llama_permute(values, config["num_key_value_heads"])
        assert list(tensor.shape) == list(reversed(values.shape)), (name, tensor.shape, values.shape)
        qtype = GGMLQuantizationType.F32 if values.ndim == 1 else TYPES[dtype]
        assert tensor.tensor_type == qtype, (name, tensor.tensor_type, qtype)
        raw = np.asarray(tensor.data)
        if qtype == GGMLQuantizationType.F32:
            assert np.array_equal(raw.reshape(values.shape).view(np.uint32), values.view(np.uint32)), name
            continue
        reference = quantize(values, qtype)
        assert np.array_equal(raw.view(np.uint8).reshape(-1), reference.view(np.uint8).reshape(-1)), (name, dtype)
        if qtype == GGMLQuantizationType.Q8_0:
            restored = dequantize(raw.view(np.uint8).reshape(reference.shape), qtype).reshape(values.shape)
            blocks = values.reshape(-1, 32)
            d = np.abs(blocks).max(axis=1, keepdims=True) / 127
            bound = 0.5 * d + 127 * np.abs(d.astype(np.float16).astype(np.float32) - d) + 1e-7
            assert np.all(np.abs(restored.reshape(-1, 32) - blocks) <= bound), name


def check_model(scratch, tokenizer_json, family, tied):
    name = f"{family}-{'tied' if tied else 'untied'}"
    hf_dir = scratch / f"{name}-hf"
    build_hf_model(hf_dir, family, tokenizer_json, tied)
    config = json.loads((hf_dir / "config.json").read_text())
    checkpoint = import_checkpoint(hf_dir, scratch / f"{name}-run")
    source = checkpoint_tensors(checkpoint)
    arch = {"llama": "llama", "qwen3": "qwen3", "qwen2": "qwen2"}[family]
    for dtype in TYPES:
        out = scratch / f"{name}-{dtype}.gguf"
        ember("export", "--checkpoint", checkpoint, "--format", "gguf", "--out", out, "--dtype", dtype)
        reader = GGUFReader(str(out))
        check_metadata(reader, arch, config, tokenizer_json, dtype)
        check_tensors(reader, arch, config, source, dtype)
    leftovers = [p.name for p in scratch.iterdir() if ".tmp-" in p.name]
    assert not leftovers, leftovers
    return scratch / f"{name}-run"


def check_export_script(run_dir):
    script = Path(os.environ["EMBER_SOURCE_DIR"]) / "scripts" / "export.sh"
    env = {**os.environ, "EMBER": os.environ["EMBER_BIN"]}
    result = subprocess.run(["bash", str(script), str(run_dir)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (run_dir / "export" / "hf" / "config.json").is_file()
    gguf_files = sorted(p.name for p in (run_dir / "export").glob("*.gguf"))
    assert gguf_files == ["model-q8_0.gguf"], gguf_files
    GGUFReader(str(run_dir / "export" / "model-q8_0.gguf"))


def main():
    scratch = fresh_scratch()
    tokenizer_json = train_tokenizer(scratch)
    run_dir = check_model(scratch, tokenizer_json, "llama", tied=True)
    check_model(scratch, tokenizer_json, "qwen3", tied=False)
    check_model(scratch, tokenizer_json, "qwen2", tied=True)
    check_export_script(run_dir)
    print("GGUF export interop: OK")


if __name__ == "__main__":
    main()
