#!/usr/bin/python3
"""The benchmark's reference model in PyTorch: the same ViLT-style network as
engine/models/model_vilt.c (pre-LN blocks, separate q/k/v, exact GELU, text/image
embeddings with BERT's token-type row where asked, tanh pooler) with a 2-class linear head on the pooled output,
timed per step on random data in one of three modes:

  full   training step: forward, cross-entropy, backward, the gradient norm
         (not clipped), AdamW over every tensor
  lora   the same with LoRA on q, k, v (rank 16, alpha 16: scale 1; A
         Kaiming-uniform, B zero) and every other backbone tensor frozen
  infer  forward pass of the model in evaluation mode, without autograd

moil bench (cli/cmd_bench_torch.c) runs it with the engine's sizes. Run with
Debian's /usr/bin/python3 (python3-torch). Prints one line, ms_per_step the
fastest of the timed steps:
torch: ms_per_step=<float> peak_mib=<int> base_mib=<int> params=<int> trainable=<int> threads=<n> steps=<n>
(peak_mib: the process's peak resident memory, PyTorch's own libraries
included; base_mib: that peak once torch is imported, before any tensor;
params: floats of every tensor, as the engine counts them).
"""
import argparse
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BASE_MIB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # PyTorch's libraries, before any tensor


class LoraLinear(nn.Module):
    """W0 x + b + scale * B (A x), W0 and b frozen."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features))
        nn.init.uniform_(self.lora_A, -1 / math.sqrt(base.in_features), 1 / math.sqrt(base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + self.scale * ((x @ self.lora_A.t()) @ self.lora_B.t())


class Block(nn.Module):
    def __init__(self, d, heads, ratio):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.fc1, self.fc2 = nn.Linear(d, ratio * d), nn.Linear(ratio * d, d)

    def forward(self, x, key_mask):
        B, T, C = x.shape
        h = self.norm1(x)
        split = lambda t: t.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        att = (q @ k.transpose(-2, -1)) / (C // self.heads) ** 0.5
        att = att.masked_fill(~key_mask[:, None, None, :], float("-inf")).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class Vilt(nn.Module):
    def __init__(self, vocab, d, layers, heads, ratio, patch, size, text_len, types, text_types, classes):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.text_type = nn.Embedding(text_types, d) if text_types else None  # BERT's token types
        self.text_pos = nn.Parameter(torch.zeros(text_len, d))
        self.text_ln = nn.LayerNorm(d, eps=1e-12)
        self.types = nn.Embedding(types, d)
        self.patch = nn.Conv2d(3, d, patch, patch)
        n = (size // patch) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.img_pos = nn.Parameter(torch.zeros(1, 1 + n, d))
        self.blocks = nn.ModuleList([Block(d, heads, ratio) for _ in range(layers)])
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.pooler = nn.Linear(d, d)
        self.head = nn.Linear(d, classes)

    def forward(self, ids, text_mask, images):
        B = ids.shape[0]
        w = self.word(ids) if self.text_type is None else self.word(ids) + self.text_type.weight[0]
        t = self.text_ln(w + self.text_pos) + self.types.weight[0]
        p = self.patch(images).flatten(2).transpose(1, 2)
        i = torch.cat([self.cls.expand(B, -1, -1), p], 1) + self.img_pos + self.types.weight[1]
        x = torch.cat([t, i], 1)
        mask = torch.cat([text_mask, torch.ones(B, i.shape[1], dtype=torch.bool)], 1)
        for blk in self.blocks:
            x = blk(x, mask)
        x = self.norm(x)
        return self.head(torch.tanh(self.pooler(x[:, 0])))


def add_lora(model, rank, alpha):
    """Freeze the backbone, LoRA on every block's q, k, v; the head trains."""
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.head.parameters():
        p.requires_grad_(True)
    for blk in model.blocks:
        blk.q, blk.k, blk.v = (LoraLinear(l, rank, alpha) for l in (blk.q, blk.k, blk.v))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("full", "lora", "infer"), default="full")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--mlp-ratio", type=int, default=4)
    ap.add_argument("--patch", type=int, default=16)
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--text-len", type=int, default=24)
    ap.add_argument("--vocab", type=int, default=200)
    ap.add_argument("--types", type=int, default=3)
    ap.add_argument("--text-types", type=int, default=0)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=16.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Vilt(a.vocab, a.d, a.layers, a.heads, a.mlp_ratio, a.patch, a.image_size, a.text_len, a.types,
                 a.text_types, 2)
    if a.mode == "lora":
        add_lora(model, a.rank, a.alpha)
    trained = [p for p in model.parameters() if p.requires_grad] if a.mode != "infer" else []
    ids = torch.randint(0, a.vocab, (a.batch, a.text_len))
    text_mask = torch.ones(a.batch, a.text_len, dtype=torch.bool)
    text_mask[:, a.text_len // 2:] = False
    images = torch.rand(a.batch, 3, a.image_size, a.image_size) * 2 - 1
    labels = torch.randint(0, 2, (a.batch,))
    if a.mode == "infer":
        model.eval()

        def step():
            with torch.inference_mode():
                model(ids, text_mask, images)
    else:
        opt = torch.optim.AdamW(trained, lr=1e-4, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)

        def step():
            opt.zero_grad(set_to_none=False)
            F.cross_entropy(model(ids, text_mask, images), labels).backward()
            torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in trained]))
            opt.step()

    for _ in range(a.warmup):
        step()
    ms = float("inf")
    for _ in range(a.steps):
        start = time.perf_counter()
        step()
        ms = min(ms, (time.perf_counter() - start) * 1000)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in trained)
    print(f"torch: ms_per_step={ms:.2f} peak_mib={peak} base_mib={BASE_MIB} params={params} "
          f"trainable={trainable} threads={a.threads} steps={a.steps}")


if __name__ == "__main__":
    main()
