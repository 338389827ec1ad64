#!/usr/bin/python3
"""The PyTorch side of the parity test of a converted ViLT checkpoint
(tests/test_vilt_parity.c, docs/testing.md "The parity test").

A ViLT model written here from ViLT's published architecture, as modules
whose attribute names make its state dict carry ViLT's tensor names (the
names moil convert reads; nothing is renamed by hand):

- text: BERT's embeddings, (word + token type 0) + position, then LayerNorm
  (eps 1e-12), and BERT's int64 position_ids buffer in the state dict;
- image: the linear patch embedding (a convolution with kernel = stride =
  patch, pixels normalised to [-1, 1] with mean 0.5 and std 0.5), a class
  token and learned positions; every patch of a full image is kept (ViLT
  samples them in a random order when none is padding, which changes no
  result: attention does not depend on the order of keys that carry their
  own positions);
- modality types added to each side (text 0, image 1, NLVR2's second image
  2); text padding masked out of attention;
- pre-LayerNorm blocks (eps 1e-6) with one fused qkv projection, exact GELU,
  a final LayerNorm (eps 1e-6) and the pooler tanh(dense(x[:, 0]));
- heads: VQA (Linear(d, 2d), LayerNorm, GELU, Linear(2d, answers)), NLVR2
  on the two pooled vectors concatenated (Linear(2d, 2d), LayerNorm, GELU,
  Linear(2d, 2)), ITM (Linear(d, 2)), the retrieval rank head (Linear(d, 1))
  and BERT's MLM head (dense, GELU, LayerNorm eps 1e-12, a decoder without
  bias and a bias of its own) on the text tokens.

`write DIR [--b32]` draws every tensor at random (biases and norms too),
writes DIR/vilt.safetensors (the state dict, float32, int64 position_ids,
metadata {"format": "pt"}, laid out as the safetensors library writes),
DIR/vocab.txt (a WordPiece-style vocabulary with BERT's special ids: [PAD]
0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103), DIR/inputs.safetensors (a
batch of texts of different lengths, padded, as token ids and masks; two
images per example as uint8 pixels, height x width x RGB) and
DIR/expected.safetensors (the outputs computed in float64: pooled features
of the first images, VQA, ITM, rank and MLM logits, NLVR2 logits of the
pairs), and prints the sizes and how far PyTorch's own float32 forward is
from the float64 one (the floor float32 allows). Reduced shape: d 64, 2
layers, 4 heads, patch 32, image 384, 40 text tokens, a 120-token
vocabulary, 10 answers; --b32: ViLT-B/32 (d 768, 12 layers, 12 heads, BERT's
30,522 tokens, 3,129 answers).
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)

SMALL = dict(d=64, layers=2, heads=4, vocab=120, answers=10)
B32 = dict(d=768, layers=12, heads=12, vocab=30522, answers=3129)
PATCH, IMAGE, MAX_TEXT, BATCH = 32, 384, 40, 3
PAD, UNK, CLS, SEP, MASK = 0, 100, 101, 102, 103


class TextEmbeddings(nn.Module):
    """BERT's: word, token type and position tables, then LayerNorm."""

    def __init__(self, vocab, d):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d)
        self.position_embeddings = nn.Embedding(MAX_TEXT, d)
        self.token_type_embeddings = nn.Embedding(2, d)
        self.LayerNorm = nn.LayerNorm(d, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(MAX_TEXT).unsqueeze(0))

    def forward(self, ids):
        x = self.word_embeddings(ids) + self.token_type_embeddings(torch.zeros_like(ids))
        x = x + self.position_embeddings(self.position_ids[:, : ids.shape[1]])
        return self.LayerNorm(x)


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x, keep):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.heads)
        scores = scores.masked_fill(~keep[:, None, None, :], float("-inf"))
        return self.proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.attn = Attention(d, heads)
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.mlp = Mlp(d, 4 * d)

    def forward(self, x, keep):
        x = x + self.attn(self.norm1(x), keep)
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.proj = nn.Conv2d(3, d, kernel_size=PATCH, stride=PATCH)


class VisionTransformer(nn.Module):
    def __init__(self, d, layers, heads):
        super().__init__()
        grid = IMAGE // PATCH
        self.patch_embed = PatchEmbed(d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, d))
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(d, eps=1e-6)

    def embed(self, pixels):
        """[B,3,S,S] in [-1, 1] -> [B,1+P,d]: class token and patches, plus positions."""
        x = self.patch_embed.proj(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x + self.pos_embed


class Pooler(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.dense = nn.Linear(d, d)

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class ItmHead(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc = nn.Linear(d, 2)


class Transform(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.dense = nn.Linear(d, d)
        self.LayerNorm = nn.LayerNorm(d, eps=1e-12)

    def forward(self, x):
        return self.LayerNorm(F.gelu(self.dense(x)))


class MlmHead(nn.Module):
    def __init__(self, d, vocab):
        super().__init__()
        self.transform = Transform(d)
        self.decoder = nn.Linear(d, vocab, bias=False)
        self.bias = nn.Parameter(torch.zeros(vocab))

    def forward(self, x):
        return self.decoder(self.transform(x)) + self.bias


def classifier(d_in, d_hid, d_out):
    return nn.Sequential(nn.Linear(d_in, d_hid), nn.LayerNorm(d_hid), nn.GELU(), nn.Linear(d_hid, d_out))


class Vilt(nn.Module):
    def __init__(self, d, layers, heads, vocab, answers):
        super().__init__()
        self.text_embeddings = TextEmbeddings(vocab, d)
        self.token_type_embeddings = nn.Embedding(3, d)  # text, image, NLVR2's second image
        self.transformer = VisionTransformer(d, layers, heads)
        self.pooler = Pooler(d)
        self.mlm_score = MlmHead(d, vocab)
        self.itm_score = ItmHead(d)
        self.vqa_classifier = classifier(d, 2 * d, answers)
        self.nlvr2_classifier = classifier(2 * d, 2 * d, 2)
        self.rank_output = nn.Linear(d, 1)

    def infer(self, ids, mask, pixels, image_type):
        text = self.text_embeddings(ids) + self.token_type_embeddings(torch.zeros_like(ids))
        image = self.transformer.embed(pixels)
        image = image + self.token_type_embeddings(torch.full(image.shape[:2], image_type, dtype=torch.long))
        x = torch.cat([text, image], dim=1)
        keep = torch.cat([mask.bool(), torch.ones(image.shape[:2], dtype=torch.bool)], dim=1)
        for block in self.transformer.blocks:
            x = block(x, keep)
        x = self.transformer.norm(x)
        return x, self.pooler(x)

    def outputs(self, ids, mask, left, right):
        x, pooled = self.infer(ids, mask, left, 1)
        _, pooled2 = self.infer(ids, mask, right, 2)
        return {
            "pooled": pooled,
            "vqa": self.vqa_classifier(pooled),
            "itm": self.itm_score.fc(pooled),
            "rank": self.rank_output(pooled),
            "mlm": self.mlm_score(x[:, : ids.shape[1]]),
            "nlvr": self.nlvr2_classifier(torch.cat([pooled, pooled2], dim=-1)),
        }


def is_norm(name):
    """A LayerNorm's tensor: BERT's LayerNorm, the blocks' norm1 and norm2,
    the final norm, module 1 of the classifiers."""
    return name.split(".")[-2] in ("LayerNorm", "norm1", "norm2", "norm", "1")


def randomise(model, gen):
    """Every tensor at random: norms' weights around 1, biases around 0,
    embeddings and positions at 0.5, matrices at 1/sqrt(fan-in), which keeps
    activations O(1)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            if is_norm(name) and name.endswith("weight"):
                p.copy_(1 + 0.2 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            elif "embeddings" in name or name.endswith(("cls_token", "pos_embed")):
                p.copy_(0.5 * noise)
            else:
                p.copy_(noise / math.sqrt(p[0].numel()))


# ---- safetensors, written as the safetensors library lays files out -------

DTYPES = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
          "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
NP_DTYPE = {np.float32: "F32", np.int64: "I64", np.int32: "I32", np.uint8: "U8"}


def write_safetensors(path, arrays, metadata=None):
    """arrays: name -> numpy array (little-endian). Tensors ordered by dtype
    (the library's enum, descending) then name; compact JSON header padded
    with spaces to a multiple of 8."""
    items = [(n, NP_DTYPE[a.dtype.type], np.ascontiguousarray(a)) for n, a in arrays.items()]
    items.sort(key=lambda t: (-DTYPES.index(t[1]), t[0]))
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, a in items:
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for _, _, a in items:
            f.write(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())


def vocabulary(n):
    """BERT's layout: [PAD], unused slots, [UNK] [CLS] [SEP] [MASK] at 100-103, then words."""
    words = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return words + [f"word{i}" for i in range(n - len(words))]


def inputs(gen, vocab):
    """BATCH texts of 40, 17 and 5 tokens ([CLS] words [SEP], padded with
    [PAD]) and two images per example."""
    ids = torch.zeros(BATCH, MAX_TEXT, dtype=torch.long)
    mask = torch.zeros(BATCH, MAX_TEXT, dtype=torch.long)
    for b, n in enumerate((MAX_TEXT, 17, 5)):
        words = torch.randint(104, vocab, (n - 2,), generator=gen)
        ids[b, :n] = torch.cat([torch.tensor([CLS]), words, torch.tensor([SEP])])
        mask[b, :n] = 1
    pixels = torch.randint(0, 256, (2 * BATCH, IMAGE, IMAGE, 3), generator=gen, dtype=torch.uint8)
    return ids, mask, pixels


def normalise(pixels):
    """uint8 [N,S,S,3] -> [N,3,S,S] in [-1, 1]: /255, then mean 0.5 and std 0.5."""
    return (pixels.permute(0, 3, 1, 2).double() / 255 - 0.5) / 0.5


def main():
    if len(sys.argv) < 3 or sys.argv[1] != "write":
        sys.exit("usage: vilt_parity.py write DIR [--b32]")
    out = sys.argv[2]
    size = B32 if "--b32" in sys.argv[3:] else SMALL
    gen = torch.Generator().manual_seed(22)
    model = Vilt(**size)
    randomise(model, gen)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(out, "vilt.safetensors"), state, {"format": "pt"})
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("".join(w + "\n" for w in vocabulary(size["vocab"])))
    ids, mask, pixels = inputs(gen, size["vocab"])
    write_safetensors(os.path.join(out, "inputs.safetensors"),
                      {"ids": ids.int().numpy(), "mask": mask.int().numpy(), "pixels": pixels.numpy()})
    images = normalise(pixels)
    with torch.no_grad():
        ref = model.double().outputs(ids, mask, images[:BATCH], images[BATCH:])
        f32 = model.float().outputs(ids, mask, images[:BATCH].float(), images[BATCH:].float())
    write_safetensors(os.path.join(out, "expected.safetensors"), {k: v.float().numpy() for k, v in ref.items()})
    floor = max(float((f32[k].double() - ref[k]).abs().max() / ref[k].abs().max()) for k in ref)
    print(f"vilt_parity.py: d={size['d']} layers={size['layers']} heads={size['heads']} vocab={size['vocab']} "
          f"answers={size['answers']} patch={PATCH} image={IMAGE} max_text={MAX_TEXT} batch={BATCH}; "
          f"torch float32 from float64: largest relative difference {floor:.2e}")


if __name__ == "__main__":
    main()
