#!/usr/bin/env python3
"""Predicted step time and MFU of the 1B and 8B presets on 8 to 1024 H100s (docs/distributed.md).

The model (every assumption is a constant below, stated in the doc):
  compute   t_c  = tokens per GPU per step x training FLOPs per token / tp / (MFU_anchor x peak)
            MFU_anchor = 36.9%: Ember's measured 1B bf16 step (44.4k tokens/s on one H200, seq 2048,
            micro batch 4), taken as the compute efficiency of every GPU's share.
  dp / ZeRO-1  one all-reduce (or reduce-scatter + all-gather: the same wire bytes) of the fp32
            gradients of this tp rank's parameters, S = 4 P / tp bytes, ring over g = dp ranks:
            t_dp = 2 (g - 1) / g x S / B + buckets x alpha      B = NVLink inside a node, else IB
  tp        7 L + 2 all-reduces of n x d bf16 activations per micro-batch, n = micro batch x seq
            tokens, over tp ranks on NVLink (as built: per block o and down forward, and the input
            gradients of q, k, v, gate and up backward, each projection's own copy_to_tp; plus the
            embedding forward and the head backward):
            t_tp = micro-steps x (7 L + 2) x (2 (tp - 1) / tp x 2 n d / B_nvl + alpha)
  step      t_c + t_dp + t_tp (as built: the dp sum runs after the last backward, no overlap)
  MFU       MFU_anchor x t_c / step
Run: python3 scripts/scaling_model.py  (prints the markdown tables)
"""

PEAK = 989e12            # H100 SXM dense BF16 FLOP/s
MFU_ANCHOR = 0.369       # measured compute efficiency (docs/results.md)
B_NVLINK = 360e9         # achievable all-reduce bus bandwidth per GPU inside a node (NVLink 4, 900 GB/s bidir)
B_IB = 40e9              # per GPU between nodes: one 400 Gb/s NDR NIC per GPU (50 GB/s), 80% achieved
ALPHA_NVLINK = 10e-6     # latency per collective call, seconds
ALPHA_IB = 30e-6
GPUS_PER_NODE = 8
SEQ = 2048
MICRO = 4                # sequences per micro-batch per dp rank
GLOBAL_TOKENS = 4 * 1024 * 1024   # 2048 sequences of 2048 tokens per optimizer step
BUCKET = 25 * 1024 * 1024          # parallel.bucket_mb = 25


def preset(d, layers, heads, kv_heads, head_dim, ffn, vocab, tied):
    per_layer = d * heads * head_dim * 2 + d * kv_heads * head_dim * 2 + 3 * d * ffn
    matmul = layers * per_layer + vocab * d          # the LM head (tied or not) is a matmul
    params = layers * (per_layer + 2 * d) + vocab * d * (1 if tied else 2) + d
    flops = 6 * matmul + 12 * layers * SEQ * heads * head_dim  # model/flops.h
    return dict(d=d, layers=layers, params=params, flops=flops)


PRESETS = {
    "1B": (preset(2048, 16, 32, 8, 64, 8192, 128256, True), 1),
    "8B": (preset(4096, 32, 32, 8, 128, 14336, 128256, False), 8),
}


def predict(m, gpus, tp):
    dp = gpus // tp
    tokens_per_dp = GLOBAL_TOKENS / dp
    micro = min(MICRO, tokens_per_dp / SEQ)
    steps = tokens_per_dp / (micro * SEQ)
    t_c = tokens_per_dp * m["flops"] / tp / (MFU_ANCHOR * PEAK)
    grad_bytes = 4 * m["params"] / tp
    inside = gpus <= GPUS_PER_NODE
    bw, alpha = (B_NVLINK, ALPHA_NVLINK) if inside else (B_IB, ALPHA_IB)
    buckets = -(-grad_bytes // BUCKET)
    t_dp = 0.0 if dp == 1 else 2 * (dp - 1) / dp * grad_bytes / bw + buckets * alpha
    act = 2 * micro * SEQ * m["d"]
    t_tp = 0.0 if tp == 1 else steps * (7 * m["layers"] + 2) * (2 * (tp - 1) / tp * act / B_NVLINK + ALPHA_NVLINK)
    step = t_c + t_dp + t_tp
    return dict(dp=dp, tp=tp, t_c=t_c, t_dp=t_dp, t_tp=t_tp, step=step, tps=GLOBAL_TOKENS / step,
                mfu=MFU_ANCHOR * t_c / step, grad_gb=grad_bytes / 1e9)


def main():
    for name, (m, tp) in PRESETS.items():
        print(f"\n**{name}** ({m['params'] / 1e9:.2f}B parameters, {m['flops']:.3g} training FLOPs per token at "
              f"seq {SEQ}; tp = {tp}, ZeRO-1 over dp; dp payload {4 * m['params'] / tp / 1e9:.2f} GB per rank)\n")
        print("| GPUs | dp x tp | compute | dp comm | tp comm | step | tokens/s | MFU |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for gpus in (8, 16, 32, 64, 128, 256, 512, 1024):
            p = predict(m, gpus, tp)
            print(f"| {gpus} | {p['dp']} x {p['tp']} | {p['t_c']:.3f} s | {p['t_dp']:.3f} s | {p['t_tp']:.3f} s "
                  f"| {p['step']:.3f} s | {p['tps'] / 1e6:.2f}M | {100 * p['mfu']:.1f}% |")


if __name__ == "__main__":
    main()
