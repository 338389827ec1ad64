#!/usr/bin/python3
"""The benchmark's reference model in PyTorch: the same ViLT-style network as
engine/models/model_vilt.c (pre-LN blocks, separate q/k/v, exact GELU, text/image
embeddings, tanh pooler), a linear head on the pooled output, cross-entropy
and AdamW, timed per training step on random data.

Run with Debian's /usr/bin/python3 (python3-torch). Prints one line:
torch: ms_per_step=<float> threads=<n> steps=<n>
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


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
    def __init__(self, vocab, d, layers, heads, ratio, patch, size, text_len, classes):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.text_pos = nn.Parameter(torch.zeros(text_len, d))
        self.text_ln = nn.LayerNorm(d, eps=1e-12)
        self.types = nn.Embedding(3, d)
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
        t = self.text_ln(self.word(ids) + self.text_pos) + self.types.weight[0]
        p = self.patch(images).flatten(2).transpose(1, 2)
        i = torch.cat([self.cls.expand(B, -1, -1), p], 1) + self.img_pos + self.types.weight[1]
        x = torch.cat([t, i], 1)
        mask = torch.cat([text_mask, torch.ones(B, i.shape[1], dtype=torch.bool)], 1)
        for blk in self.blocks:
            x = blk(x, mask)
        x = self.norm(x)
        return self.head(torch.tanh(self.pooler(x[:, 0])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Vilt(a.vocab, a.d, a.layers, a.heads, a.mlp_ratio, a.patch, a.image_size, a.text_len, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    ids = torch.randint(0, a.vocab, (a.batch, a.text_len))
    text_mask = torch.ones(a.batch, a.text_len, dtype=torch.bool)
    text_mask[:, a.text_len // 2:] = False
    images = torch.rand(a.batch, 3, a.image_size, a.image_size) * 2 - 1
    labels = torch.randint(0, 2, (a.batch,))
    for step in range(a.warmup + a.steps):
        if step == a.warmup:
            start = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(ids, text_mask, images), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    ms = (time.perf_counter() - start) * 1000 / a.steps
    print(f"torch: ms_per_step={ms:.2f} threads={a.threads} steps={a.steps}")


if __name__ == "__main__":
    main()
