"""The PyTorch reference for `ember bench train`: the same model and the same step in plain eager
PyTorch (or torch.compile with --compile), on random tokens; prints one JSON line like Ember's.

Model (Llama block, as Hugging Face's LlamaForCausalLM computes it): embedding -> n_layers x
[x + attn(rmsnorm(x)), x + swiglu(rmsnorm(x))] -> rmsnorm -> untied LM head; RMSNorm in fp32 as
HF's LlamaRMSNorm, RoPE in the rotate_half layout, F.scaled_dot_product_attention(is_causal=True).
Init as Ember: every matrix ~ N(0, 0.02), o_proj / down_proj ~ N(0, 0.02 / sqrt(2 n_layers)),
norm weights 1. Step: sum cross-entropy / tokens in fp32, backward, clip_grad_norm_(1.0),
torch.optim.AdamW(lr 3e-4, betas (0.9, 0.95), eps 1e-8) with weight decay 0.1 on the block
matrices and the LM head, none on norms and the embedding (Ember's default groups).
AdamW implementation: PyTorch's default on CPU (foreach=None, fused=None), which is the
single-tensor for-loop; --adamw fused / foreach pick the others.

    python bench/train_reference.py [--config configs/bench/train-25m.yaml] [--steps 10] [--warmup 3]
                                    [--threads 2] [--compile] [--adamw default|foreach|fused]
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F
import yaml
from torch import nn


def load_config(path):
    """Reads an Ember YAML config, following `base:` links (later files override earlier ones)."""
    with open(path) as f:
        config = yaml.safe_load(f)
    base = config.pop("base", None)
    if base is None:
        return config
    merged = load_config(os.path.join(os.path.dirname(path), base))
    for section, values in config.items():
        merged.setdefault(section, {}).update(values)
    return merged


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.heads, self.kv_heads = m["n_heads"], m["n_kv_heads"]
        self.head_dim = m["d_model"] // m["n_heads"]
        self.q_proj = nn.Linear(m["d_model"], self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(m["d_model"], self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(m["d_model"], self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, m["d_model"], bias=False)

    def forward(self, x, cos, sin):
        batch, tokens, _ = x.shape
        q = self.q_proj(x).view(batch, tokens, -1, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(batch, tokens, -1, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(batch, tokens, -1, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.heads != self.kv_heads)
        return self.o_proj(out.transpose(1, 2).reshape(batch, tokens, -1))


class MLP(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.gate_proj = nn.Linear(m["d_model"], m["ffn_hidden"], bias=False)
        self.up_proj = nn.Linear(m["d_model"], m["ffn_hidden"], bias=False)
        self.down_proj = nn.Linear(m["ffn_hidden"], m["d_model"], bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.input_layernorm = RMSNorm(m["d_model"], m["norm_eps"])
        self.self_attn = Attention(m)
        self.post_attention_layernorm = RMSNorm(m["d_model"], m["norm_eps"])
        self.mlp = MLP(m)

    def forward(self, x, cos, sin):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return h + self.mlp(self.post_attention_layernorm(h))


class Transformer(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m
        self.embed_tokens = nn.Embedding(m["vocab_size"], m["d_model"])
        self.layers = nn.ModuleList(DecoderLayer(m) for _ in range(m["n_layers"]))
        self.norm = RMSNorm(m["d_model"], m["norm_eps"])
        self.lm_head = nn.Linear(m["d_model"], m["vocab_size"], bias=False)
        head_dim = m["d_model"] // m["n_heads"]
        inv_freq = 1.0 / (m["rope_theta"] ** (torch.arange(0, head_dim, 2).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.init_weights()

    def init_weights(self):
        std = self.m["init_std"]
        output_std = std / math.sqrt(2 * self.m["n_layers"])
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("norm.weight"):
                    p.fill_(1.0)
                elif name.endswith(("o_proj.weight", "down_proj.weight")):
                    p.normal_(0.0, output_std)
                else:
                    p.normal_(0.0, std)

    def forward(self, ids):
        x = self.embed_tokens(ids)
        positions = torch.arange(ids.shape[1], dtype=torch.float32)
        angles = positions[:, None] * self.inv_freq[None, :]
        doubled = torch.cat((angles, angles), dim=-1)
        cos, sin = doubled.cos().to(x.dtype), doubled.sin().to(x.dtype)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.norm(x))


def measure_peak_flops(n=1024, seconds=0.5):
    """fp32 GEMM n^3 FLOP/s, as Ember's train/peak_flops.cpp measures it."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    iterations, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or iterations < 5:
        a @ b
        iterations += 1
    return 2.0 * n ** 3 * iterations / (time.perf_counter() - start)


def training_flops_per_token(m, seq_len):
    """Ember's model/flops.cpp: 3 x (2 x matmul parameters + attention), embedding lookup excluded."""
    d = m["d_model"] // m["n_heads"]
    layer = (m["d_model"] * m["n_heads"] * d + 2 * m["d_model"] * m["n_kv_heads"] * d
             + m["n_heads"] * d * m["d_model"] + 3 * m["d_model"] * m["ffn_hidden"])
    matmul = m["n_layers"] * layer + m["vocab_size"] * m["d_model"]
    attention = 4.0 * m["n_layers"] * seq_len * m["n_heads"] * d
    return 3.0 * (2.0 * matmul + attention)


def make_optimizer(model, o, implementation):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embed_tokens" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2 or "embed_tokens" in n]
    groups = [{"params": decay, "weight_decay": o["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    kwargs = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}[implementation]
    return torch.optim.AdamW(groups, lr=o["lr"], betas=(o.get("beta1", 0.9), o.get("beta2", 0.95)),
                             eps=o.get("eps", 1e-8), **kwargs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/bench/train-25m.yaml")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (inductor)")
    parser.add_argument("--adamw", choices=["default", "foreach", "fused"], default="default")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()

    config = load_config(args.config)
    m, t, o, b = config["model"], config["train"], config["optim"], config.get("bench", {})
    steps = args.steps or b.get("steps", 10)
    warmup = args.warmup if args.warmup is not None else b.get("warmup_steps", 3)
    threads = args.threads or t.get("threads", 2)
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)

    model = Transformer(m)
    model.train()
    forward = torch.compile(model) if args.compile else model
    optimizer = make_optimizer(model, o, args.adamw)
    batch, seq_len = t["batch_size"], t["seq_len"]
    tokens = torch.randint(m["vocab_size"], (batch, seq_len + 1))
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    global_tokens = batch * seq_len

    def step():
        optimizer.zero_grad(set_to_none=False)
        logits = forward(inputs)
        loss = F.cross_entropy(logits.reshape(-1, m["vocab_size"]).float(), targets.reshape(-1),
                               reduction="sum") / global_tokens
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t.get("grad_clip", 1.0))
        optimizer.step()
        return loss.item()

    peak = measure_peak_flops()
    for _ in range(warmup):
        step()
    step_ms, cpu_ms = [], []
    for _ in range(steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        loss = step()
        step_ms.append((time.perf_counter() - start) * 1e3)
        cpu_ms.append((time.process_time() - cpu_start) * 1e3)
    median_ms = statistics.median(step_ms)
    tokens_per_s = global_tokens / (median_ms / 1e3)
    flops_per_token = training_flops_per_token(m, seq_len)
    adamw = {"default": "for-loop (PyTorch's CPU default)", "foreach": "foreach", "fused": "fused"}[args.adamw]
    print(json.dumps({"tokens_per_s": tokens_per_s, "step_ms": median_ms,
                      "cpu_ms": statistics.median(cpu_ms), "mfu": tokens_per_s * flops_per_token / peak,
                      "peak_flops": peak, "peak_source": f"measured: fp32 GEMM 1024^3, {threads} threads",
                      "flops_per_token": flops_per_token, "threads": threads, "final_loss": loss,
                      "mode": "torch.compile" if args.compile else "eager", "adamw": adamw,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
