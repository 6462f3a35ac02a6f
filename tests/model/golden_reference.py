"""Golden reference for tests/model/test_transformer.cpp: the Ember Transformer rebuilt in plain
PyTorch (a second, independent implementation), checked against Hugging Face transformers'
Llama / Qwen2 / Qwen3 models where they apply, then run on fixed weights and inputs.

For each case it writes OUT/<case>.safetensors holding
  param.<name>   the initial weights under their canonical (HF Llama) names
  input_ids, targets [B, T] int64 (targets -100 where ignored), doc_ids [B, T] (packed cases)
  logits [B, T, V], loss [], grad.<name>   forward and backward at the initial weights
  losses [10]    the loss before each of 10 torch.optim.AdamW steps on the same batch
and `__metadata__` {"config": ModelConfig JSON, "lr", "weight_decay"}. Everything is fp32 on CPU.

Usage: golden_reference.py OUT_DIR   (written to a temporary directory, then renamed into place)
"""
import json
import math
import os
import shutil
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

LR = 1e-2
WEIGHT_DECAY = 0.1
STEPS = 10
BATCH, TOKENS = 2, 16

BASE = dict(vocab_size=64, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=0, ffn_hidden=48,
            max_seq_len=64, rope_theta=10000.0, norm_eps=1e-5, qk_norm=False, attn_bias=False,
            tie_embeddings=False, init_std=0.02)

# name -> (config changes, packed documents, transformers class to cross-check against)
CASES = {
    "llama_gqa_untied": ({}, False, "llama"),
    "llama_mha_tied": ({"n_kv_heads": 4, "tie_embeddings": True}, False, "llama"),
    "qwen3_qk_norm": ({"qk_norm": True, "n_kv_heads": 1, "head_dim": 16, "rope_theta": 1e6}, False, "qwen3"),
    "qwen2_attn_bias": ({"attn_bias": True, "tie_embeddings": True}, False, "qwen2"),
    "packed_documents": ({"qk_norm": True}, True, None),
}


def head_dim(cfg):
    return cfg["head_dim"] or cfg["d_model"] // cfg["n_heads"]


def parameter_shapes(cfg):
    c, d, h, k, f, v = cfg["d_model"], head_dim(cfg), cfg["n_heads"], cfg["n_kv_heads"], cfg["ffn_hidden"], cfg["vocab_size"]
    shapes = {"model.embed_tokens.weight": (v, c), "model.norm.weight": (c,)}
    for i in range(cfg["n_layers"]):
        p = f"model.layers.{i}."
        shapes.update({p + "self_attn.q_proj.weight": (h * d, c), p + "self_attn.k_proj.weight": (k * d, c),
                       p + "self_attn.v_proj.weight": (k * d, c), p + "self_attn.o_proj.weight": (c, h * d),
                       p + "mlp.gate_proj.weight": (f, c), p + "mlp.up_proj.weight": (f, c),
                       p + "mlp.down_proj.weight": (c, f), p + "input_layernorm.weight": (c,),
                       p + "post_attention_layernorm.weight": (c,)})
        if cfg["attn_bias"]:
            shapes.update({p + "self_attn.q_proj.bias": (h * d,), p + "self_attn.k_proj.bias": (k * d,),
                           p + "self_attn.v_proj.bias": (k * d,)})
        if cfg["qk_norm"]:
            shapes.update({p + "self_attn.q_norm.weight": (d,), p + "self_attn.k_norm.weight": (d,)})
    if not cfg["tie_embeddings"]:
        shapes["lm_head.weight"] = (v, c)
    return shapes


def random_parameters(cfg, gen):
    """Weights large enough for non-trivial attention; norms and biases away from 1 and 0."""
    params = {}
    for name, shape in parameter_shapes(cfg).items():
        if name.endswith("norm.weight"):
            params[name] = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif name.endswith(".bias"):
            params[name] = 0.1 * torch.randn(shape, generator=gen)
        else:
            params[name] = torch.randn(shape, generator=gen) / math.sqrt(shape[-1])
    return params


def rms_norm(x, weight, eps):
    x32 = x.float()
    return weight * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def positions_and_mask(doc_ids):
    """Per-token positions inside its document and the block-diagonal causal mask, by loops."""
    batch, tokens = doc_ids.shape
    positions = torch.zeros(batch, tokens, dtype=torch.int64)
    mask = torch.zeros(batch, 1, tokens, tokens, dtype=torch.bool)
    for b in range(batch):
        start = 0
        for t in range(tokens):
            if t > 0 and doc_ids[b, t] != doc_ids[b, t - 1]:
                start = t
            positions[b, t] = t - start
            mask[b, 0, t, start:t + 1] = True
    return positions, mask


def rope(x, positions, theta):
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    angles = positions.float()[..., None] * inv_freq
    emb = torch.cat([angles, angles], -1)[:, None]
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return x * emb.cos() + torch.cat([-x2, x1], -1) * emb.sin()


def forward(cfg, params, input_ids, doc_ids=None):
    batch, tokens = input_ids.shape
    d, h, k = head_dim(cfg), cfg["n_heads"], cfg["n_kv_heads"]
    if doc_ids is None:
        positions = torch.arange(tokens).expand(batch, tokens)
        mask = torch.ones(tokens, tokens, dtype=torch.bool).tril().expand(batch, 1, tokens, tokens)
    else:
        positions, mask = positions_and_mask(doc_ids)
    x = params["model.embed_tokens.weight"][input_ids]
    for i in range(cfg["n_layers"]):
        p = lambda name: params.get(f"model.layers.{i}.{name}")
        a = rms_norm(x, p("input_layernorm.weight"), cfg["norm_eps"])
        q = F.linear(a, p("self_attn.q_proj.weight"), p("self_attn.q_proj.bias")).view(batch, tokens, h, d).transpose(1, 2)
        kk = F.linear(a, p("self_attn.k_proj.weight"), p("self_attn.k_proj.bias")).view(batch, tokens, k, d).transpose(1, 2)
        v = F.linear(a, p("self_attn.v_proj.weight"), p("self_attn.v_proj.bias")).view(batch, tokens, k, d).transpose(1, 2)
        if cfg["qk_norm"]:
            q = rms_norm(q, p("self_attn.q_norm.weight"), cfg["norm_eps"])
            kk = rms_norm(kk, p("self_attn.k_norm.weight"), cfg["norm_eps"])
        q, kk = rope(q, positions, cfg["rope_theta"]), rope(kk, positions, cfg["rope_theta"])
        kk, v = kk.repeat_interleave(h // k, dim=1), v.repeat_interleave(h // k, dim=1)
        scores = (q @ kk.transpose(-1, -2)) / math.sqrt(d)
        attention = scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v
        x = x + F.linear(attention.transpose(1, 2).reshape(batch, tokens, h * d), p("self_attn.o_proj.weight"))
        m = rms_norm(x, p("post_attention_layernorm.weight"), cfg["norm_eps"])
        x = x + F.linear(F.silu(F.linear(m, p("mlp.gate_proj.weight"))) * F.linear(m, p("mlp.up_proj.weight")),
                         p("mlp.down_proj.weight"))
    x = rms_norm(x, params["model.norm.weight"], cfg["norm_eps"])
    return F.linear(x, params["model.embed_tokens.weight" if cfg["tie_embeddings"] else "lm_head.weight"])


def transformers_logits(kind, cfg, params, input_ids):
    """The same weights in Hugging Face's own model class (checks naming, RoPE layout, GQA order)."""
    import transformers
    config_class, model_class = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM),
    }[kind]
    extra = {"attention_bias": cfg["attn_bias"]} if kind != "qwen2" else {}
    hf_config = config_class(
        vocab_size=cfg["vocab_size"], hidden_size=cfg["d_model"], intermediate_size=cfg["ffn_hidden"],
        num_hidden_layers=cfg["n_layers"], num_attention_heads=cfg["n_heads"], num_key_value_heads=cfg["n_kv_heads"],
        head_dim=head_dim(cfg), max_position_embeddings=cfg["max_seq_len"], rope_theta=cfg["rope_theta"],
        rms_norm_eps=cfg["norm_eps"], tie_word_embeddings=cfg["tie_embeddings"], **extra)
    model = model_class(hf_config).float().eval()
    missing, unexpected = model.load_state_dict(params, strict=False)
    assert not unexpected and all(name == "lm_head.weight" for name in missing), (missing, unexpected)
    with torch.no_grad():
        return model(input_ids=input_ids).logits


def make_case(name, changes, packed, hf_kind, out_dir):
    cfg = {**BASE, **changes}
    gen = torch.Generator().manual_seed(sum(map(ord, name)))
    params = random_parameters(cfg, gen)
    input_ids = torch.randint(0, cfg["vocab_size"], (BATCH, TOKENS), generator=gen)
    targets = torch.roll(input_ids, -1, dims=1)
    targets[:, -1] = -100
    targets[0, 3] = -100
    doc_ids = None
    if packed:  # row 0: three documents, row 1: one
        doc_ids = torch.tensor([[0] * 5 + [1] * 7 + [2] * 4, [5] * TOKENS], dtype=torch.int64)
        targets[0, 4] = targets[0, 11] = -100  # no prediction across a document boundary

    if hf_kind:
        with torch.no_grad():
            ours = forward(cfg, params, input_ids)
        theirs = transformers_logits(hf_kind, cfg, params, input_ids)
        error = (ours - theirs).abs().max().item()
        assert error < 1e-5, f"{name}: reference differs from transformers {hf_kind} by {error}"

    weights = {n: t.clone().requires_grad_(True) for n, t in params.items()}
    logits = forward(cfg, weights, input_ids, doc_ids)
    loss = F.cross_entropy(logits.view(-1, cfg["vocab_size"]), targets.view(-1), ignore_index=-100)
    loss.backward()
    record = {"param." + n: t for n, t in params.items()}
    record.update({"grad." + n: w.grad.clone() for n, w in weights.items()})
    record.update({"input_ids": input_ids, "targets": targets, "logits": logits.detach(), "loss": loss.detach()})
    if doc_ids is not None:
        record["doc_ids"] = doc_ids

    weights = {n: t.clone().requires_grad_(True) for n, t in params.items()}
    optimizer = torch.optim.AdamW(weights.values(), lr=LR, weight_decay=WEIGHT_DECAY)
    losses = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        step_logits = forward(cfg, weights, input_ids, doc_ids)
        step_loss = F.cross_entropy(step_logits.view(-1, cfg["vocab_size"]), targets.view(-1), ignore_index=-100)
        step_loss.backward()
        optimizer.step()
        losses.append(step_loss.item())
    record["losses"] = torch.tensor(losses, dtype=torch.float32)

    metadata = {"config": json.dumps(cfg), "lr": repr(LR), "weight_decay": repr(WEIGHT_DECAY)}
    save_file({n: t.contiguous() for n, t in record.items()}, os.path.join(out_dir, name + ".safetensors"), metadata)


def main():
    out_dir = sys.argv[1]
    if os.path.isdir(out_dir):
        return
    torch.manual_seed(0)
    staging = f"{out_dir}.tmp.{os.getpid()}"
    os.makedirs(staging)
    for name, (changes, packed, hf_kind) in CASES.items():
        make_case(name, changes, packed, hf_kind, staging)
    try:
        os.rename(staging, out_dir)
    except OSError:  # another test process finished first; its files are identical
        shutil.rmtree(staging)


if __name__ == "__main__":
    main()
