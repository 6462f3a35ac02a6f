"""`ember import` and `ember export --format hf` against transformers.

For a tied Llama, a sharded untied Qwen3 (head_dim != hidden / heads) and a Qwen2 (q/k/v bias):
random transformers model -> save_pretrained -> ember import -> ember export (f32) -> transformers:
  * the exported directory holds exactly the HF files, with {"format": "pt"} metadata, no
    lm_head.weight when tied, and bos / eos ids identical in config.json, generation_config.json
    and tokenizer_config.json;
  * transformers loads it; its logits equal the original model's within 1e-4 for several prompts
    and greedy continuations of 24 tokens are identical, to each other and to Ember's own
    (`ember generate --output json` on the imported checkpoint, up to its eos);
  * AutoTokenizer on the directory encodes as Ember's tokenizer does;
  * import(export(x)) restores every tensor bit for bit;
  * sharded (--max-shard-size) and bf16 / f16 exports load and hold the correctly rounded values.
"""
import json
from pathlib import Path

import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer

from export_fixtures import (checkpoint_tensors, PROMPTS, build_hf_model, ember, ember_encode, fresh_scratch, import_checkpoint,
                             load_safetensors, train_tokenizer)

HF_FILES = {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"}


def prompt_ids(tokenizer_json):
    return ember_encode(tokenizer_json, [p for p in PROMPTS if "\n" not in p])


def greedy(model, ids, steps=24):
    ids = torch.tensor([ids])
    with torch.no_grad():
        for _ in range(steps):
            next_id = model(ids).logits[0, -1].argmax()
            ids = torch.cat([ids, next_id.view(1, 1)], dim=1)
    return ids[0].tolist()


def compare_models(original, exported_dir, prompts):
    exported = AutoModelForCausalLM.from_pretrained(exported_dir, dtype=torch.float32).eval()
    for ids in prompts:
        with torch.no_grad():
            want = original(torch.tensor([ids])).logits
            got = exported(torch.tensor([ids])).logits
        diff = (want - got).abs().max().item()
        assert diff <= 1e-4, f"{exported_dir}: logits differ by {diff} for {ids}"
        assert greedy(original, ids) == greedy(exported, ids), f"{exported_dir}: greedy continuations differ"
    return exported


def check_ember_generation(checkpoint, exported, texts, steps=24):
    """Ember's greedy continuations (KV-cache engine) equal transformers' on the exported model."""
    args = ["generate", "--checkpoint", checkpoint, "--max-new-tokens", steps, "--output", "json"]
    for text in texts:
        args += ["--prompt", text]
    lines = [json.loads(line) for line in ember(*args).stdout.splitlines() if line.startswith("{")]
    assert len(lines) == len(texts), lines
    for line in lines:
        prompt, completion = line["prompt_ids"], line["completion_ids"]
        assert len(completion) == steps or line["finish_reason"] == "stop", line
        want = greedy(exported, prompt, steps=len(completion))
        assert want == prompt + completion, (line["prompt"], want[len(prompt):], completion)


def check_directory(out, tied, shards=None):
    files = {p.name for p in Path(out).iterdir()}
    weights = {f"model-{i:05d}-of-{shards:05d}.safetensors" for i in range(1, shards + 1)} if shards else {
        "model.safetensors"}
    expected = HF_FILES | weights | ({"model.safetensors.index.json"} if shards else set())
    assert files == expected, sorted(files ^ expected)
    names = set()
    for weight_file in weights:
        with safe_open(str(Path(out) / weight_file), framework="pt") as f:
            assert f.metadata() == {"format": "pt"}, f.metadata()
            names |= set(f.keys())
    assert ("lm_head.weight" in names) == (not tied), sorted(names)
    if shards:
        index = json.loads((Path(out) / "model.safetensors.index.json").read_text())
        assert set(index["weight_map"]) == names and set(index["weight_map"].values()) == weights

    config = json.loads((Path(out) / "config.json").read_text())
    generation = json.loads((Path(out) / "generation_config.json").read_text())
    tokenizer_config = json.loads((Path(out) / "tokenizer_config.json").read_text())
    vocab = json.loads((Path(out) / "tokenizer.json").read_text())
    token_of = {t["id"]: t["content"] for t in vocab["added_tokens"]}
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        assert config[key] == generation[key], (key, config[key], generation[key])
    assert tokenizer_config["eos_token"] == token_of[config["eos_token_id"]]
    assert tokenizer_config["bos_token"] == token_of[config["bos_token_id"]]
    assert tokenizer_config["chat_template"] == (Path(out) / "chat_template.jinja").read_text()
    assert isinstance(config["head_dim"], int) and config["tie_word_embeddings"] == tied
    for key in ("rope_theta", "rms_norm_eps", "dtype", "max_position_embeddings", "vocab_size"):
        assert key in config, key
    return config


def check_tokenizer(out, tokenizer_json):
    hf = AutoTokenizer.from_pretrained(out)
    texts = [p for p in PROMPTS if "\n" not in p]
    ours = ember_encode(tokenizer_json, texts)
    for text, ids in zip(texts, ours):
        assert hf.encode(text, add_special_tokens=False) == ids, (text, hf.encode(text, add_special_tokens=False), ids)
    chat = hf.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert chat.endswith("assistant: ") and "user: hi" in chat, chat


def check_round_trip(checkpoint, out, scratch, name):
    again = import_checkpoint(out, scratch / f"{name}-reimport")
    first, second = checkpoint_tensors(checkpoint), checkpoint_tensors(again)
    assert first.keys() == second.keys(), sorted(first.keys() ^ second.keys())
    for key in first:
        assert first[key].dtype == torch.float32 and torch.equal(first[key], second[key]), key


def check_family(scratch, tokenizer_json, family, tied, shard_input):
    name = f"{family}-{'tied' if tied else 'untied'}"
    hf_dir = scratch / f"{name}-hf"
    original = build_hf_model(hf_dir, family, tokenizer_json, tied, max_shard_size="60KB" if shard_input else None)
    if shard_input:
        assert (hf_dir / "model.safetensors.index.json").is_file()
    checkpoint = import_checkpoint(hf_dir, scratch / f"{name}-run")
    prompts = prompt_ids(tokenizer_json)

    out = scratch / f"{name}-export"
    ember("export", "--checkpoint", scratch / f"{name}-run", "--format", "hf", "--out", out)
    config = check_directory(out, tied)
    expected_class = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}[family]
    assert config["architectures"] == [expected_class], config["architectures"]
    exported = compare_models(original, out, prompts)
    check_ember_generation(checkpoint, exported, [p for p in PROMPTS if "\n" not in p])
    check_tokenizer(out, scratch / f"{name}-run" / "tokenizer.json")
    check_round_trip(checkpoint, out, scratch, name)

    ember("export", "--checkpoint", checkpoint, "--format", "hf", "--out", out)  # replaces a previous export
    sharded = scratch / f"{name}-sharded"
    ember("export", "--checkpoint", checkpoint, "--format", "hf", "--out", sharded, "--max-shard-size", 40000)
    shards = len(list(sharded.glob("model-*.safetensors")))
    assert shards > 1, shards
    check_directory(sharded, tied, shards)
    compare_models(original, sharded, prompts[:2])

    source = checkpoint_tensors(checkpoint)
    for dtype, torch_dtype, name_in_config in (("bf16", torch.bfloat16, "bfloat16"), ("f16", torch.float16, "float16")):
        low = scratch / f"{name}-{dtype}"
        ember("export", "--checkpoint", checkpoint, "--format", "hf", "--out", low, "--dtype", dtype)
        assert json.loads((low / "config.json").read_text())["dtype"] == name_in_config
        tensors = load_safetensors(low / "model.safetensors")
        for key, value in source.items():
            assert tensors[key].dtype == torch_dtype and torch.equal(tensors[key], value.to(torch_dtype)), (dtype, key)
        AutoModelForCausalLM.from_pretrained(low)


def main():
    scratch = fresh_scratch()
    tokenizer_json = train_tokenizer(scratch)
    check_family(scratch, tokenizer_json, "llama", tied=True, shard_input=False)
    check_family(scratch, tokenizer_json, "qwen3", tied=False, shard_input=True)
    check_family(scratch, tokenizer_json, "qwen2", tied=True, shard_input=False)
    print("HF export / import interop: OK")


if __name__ == "__main__":
    main()
