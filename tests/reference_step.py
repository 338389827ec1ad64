#!/usr/bin/python3
"""The PyTorch side of the reference test of the training step
(tests/test_reference_step.c, docs/testing.md "The reference test").

For every case DIR/<label>.init.safetensors holds the engine's weights and
the batch before training, with the configuration as metadata "config";
DIR/<label>.<variant>.safetensors the engine's weights after training with
each evaluation variant of the method applied. This script replays the
training in float64 from the official definitions, written here from the
published architectures and the official training code (described in our own
words in docs/methods.md and docs/paper.md), not from the engine:

- the ViLT-style model: BERT text embeddings (LayerNorm eps 1e-12), a linear
  patch embedding (a convolution with kernel = stride = patch), an image CLS
  token, learned positions and modality types, pre-LN blocks (LayerNorm eps
  1e-6, separate q, k, v, exact GELU), a final LayerNorm and the tanh pooler
  on token 0; ViLT's VQA head Linear-LayerNorm(eps 1e-5)-GELU-Linear and its
  loss, binary cross-entropy with logits averaged and times the answers;
- the methods: full tuning, heads only, BitFit (every bias; LayerNorm
  weights too with bitfit_norms), LoRA as PEFT (scale alpha/r, rsLoRA
  alpha/sqrt r, LoRA+: B's learning rate times the ratio), DoRA (magnitude
  times the row-normalised W0 + s B A), the bottleneck adapter after the
  attention output projection and after the MLP, deep prompts, and MoIL
  (online q, k, v and heads by the task loss; the EMA teacher; the hybrid,
  LoRA-only or adapter-only student imitating it, its gradient reaching the
  student only; the folded student);
- the optimiser as ViLT and MoIL configure it: AdamW with betas (0.9, 0.98),
  eps 1e-8 in the form of transformers 4.2.1 (per-tensor state, a tensor
  without a gradient skipped, eps added to the uncorrected sqrt(v), the bias
  corrections in the step size, the decoupled decay after the step) or of
  torch.optim.AdamW; weight decay 0.01 except on names holding "bias" or a
  norm's weight (ViLT's rule by name); the VQA head at head_lr_mult times
  the learning rate; the warmup + linear decay schedule.

Where the engine departs from the official definitions on purpose, the
departure is a named switch of this reference (DEVIATIONS; docs/recipe.md,
"What the reference test pins"), on by default; --official turns them all
off, to show what each changes.

The comparison, per tensor of every variant file: ||engine - reference|| /
||reference|| (the L2 norm over the tensor), at most TOL. Not the largest
element's difference: AdamW steps an element whose gradient is within the
float32 rounding of zero by up to lr x rounding / eps in either direction,
so single elements scatter even between two float32 runs of this very
script (the case line shows that run's departure, torch_float32, as the
floor float32 allows). Tensors whose gradient is zero throughout (the k
bias: gradient_free) have no reference trajectory in float32 and are only
checked to have moved no more than AdamW can (adam_bound). One line per
case:
  case <label> rel=<x> (<variant:tensor>) torch_float32=<x> tensors=<n>
       gradient_free=<names>: ok | FAIL <what>
and the exit status 0 when every case passes. --verbose lists every tensor
above TOL / 10.

Usage: reference_step.py [--official] [--verbose] DIR
"""
import glob
import json
import math
import os
import re
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

TOL = 1e-5
VERBOSE = False
KINDS = ("q", "k", "v", "proj", "fc1", "fc2")
HEAD_PREFIX = "vqa_classifier."
# ViLT's optimiser groups: no weight decay on a name holding any of these
NO_DECAY = ("bias", "LayerNorm.bias", "LayerNorm.weight", "norm.bias", "norm.weight", "norm1.bias",
            "norm1.weight", "norm2.bias", "norm2.weight")

# The engine's departures from the official definitions that the reference
# accepts, each described in docs/recipe.md ("What the reference test pins").
DEVIATIONS = {
    # no weight decay on these, which ViLT's rule by name, applied to our
    # names, would decay: DoRA's magnitudes, the deep prompts
    "no_decay_norm_like": True,
}
NO_DECAY_ENGINE = re.compile(r"\.dora_magnitude$|^transformer\.prompts$")


def read_safetensors(path):
    """The tensors of a safetensors file as numpy arrays, and its metadata."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}
    out = {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + e], dtype=dtypes[h["dtype"]]).reshape(h["shape"])
    return out, meta


def parse_targets(s):
    return set(KINDS) if s == "all" else set(re.findall(r"proj|fc1|fc2|q|k|v", s))


def lin_prefix(layer, kind):
    sub = "attn" if kind in ("q", "k", "v", "proj") else "mlp"
    return f"transformer.blocks.{layer}.{sub}.{kind}"


class Reference:
    """One case: the model, the method and the optimiser, in the default
    dtype (float64; float32 for the floor of the comparison)."""

    def __init__(self, init, cfg, dev):
        self.cfg, self.dev = cfg, dev
        self.o = cfg["options"]
        self.method = cfg["method"]
        self.targets = parse_targets(self.o["targets"])
        self.dims = cfg["model"]
        self.batch = {k[6:]: torch.from_numpy(v.copy()) for k, v in init.items() if k.startswith("batch.")}
        dtype = torch.get_default_dtype()
        self.P = {k: torch.tensor(v, dtype=dtype) for k, v in init.items() if not k.startswith("batch.")}
        self.trainable = self.official_trainable()
        for name in self.trainable:
            self.P[name].requires_grad_(True)
        self.state = {}  # AdamW state per tensor name: step, m, v
        self.gmax, self.lr_sum = {}, 0.0  # largest |gradient| per tensor; the learning rates summed
        if self.method == "moil":
            self.moil_init()

    # ---- what trains, at which rate and decay -------------------------------

    def official_trainable(self):
        names = self.P.keys()
        heads = {n for n in names if n.startswith(HEAD_PREFIX)}
        backbone = {n for n in names if not re.search(r"lora_|dora_|\.adapter\.|moil_|prompts", n)} - heads
        m = self.method
        if m == "full":
            extra = backbone
        elif m == "heads":
            extra = set()
        elif m == "bitfit":
            norm_w = {n for n in backbone if n.endswith(".weight") and re.search(r"norm|LayerNorm", n)}
            extra = {n for n in backbone if n.endswith("bias")} | (norm_w if self.o["bitfit_norms"] else set())
        elif m == "lora":
            extra = {n for n in names if re.search(r"\.lora_[AB]$", n)}
        elif m == "dora":
            extra = {n for n in names if re.search(r"\.lora_[AB]$|\.dora_magnitude$", n)}
        elif m == "adapter":
            extra = {n for n in names if ".adapter." in n}
        elif m == "prompt":
            extra = {"transformer.prompts"}
        elif m == "moil":
            online = {f"{lin_prefix(l, k)}.{w}" for l in range(self.dims["layers"]) for k in self.targets
                      for w in ("weight", "bias")}
            extra = online | {n for n in names if re.search(r"\.lora_[AB]$|moil_adapter\.", n)}
        else:
            raise ValueError(f"no reference for method {m}")
        return heads | extra

    def lr_mult(self, name):
        if name.startswith(HEAD_PREFIX):
            return self.cfg["head_lr_mult"]
        if self.method == "lora" and name.endswith(".lora_B"):
            return self.o["lora_plus"]
        return 1.0

    def decays(self, name):
        if any(nd in name for nd in NO_DECAY):
            return False
        return not (self.dev["no_decay_norm_like"] and NO_DECAY_ENGINE.search(name))

    # ---- the model ----------------------------------------------------------

    def linear(self, layer, kind, x):
        P, pre = self.P, lin_prefix(layer, kind)
        W, b = P[pre + ".weight"], P[pre + ".bias"]
        m, hooked = self.method, kind in self.targets
        if m == "lora" and hooked:
            return x @ W.T + b + self.lora_scale() * (x @ P[pre + ".lora_A"].T) @ P[pre + ".lora_B"].T
        if m == "dora" and hooked:
            return x @ self.dora_weight(pre).T + b
        h = x @ W.T + b
        if m == "adapter" and kind in ("proj", "fc2"):
            a = pre + ".adapter."
            down = F.gelu(h @ P[a + "down.weight"].T + P[a + "down.bias"])
            return h + down @ P[a + "up.weight"].T + P[a + "up.bias"]
        return h

    def lora_scale(self):
        """PEFT's: alpha / r, rsLoRA alpha / sqrt(r)."""
        return self.o["alpha"] / (math.sqrt(self.o["rank"]) if self.o["rslora"] else self.o["rank"])

    def dora_weight(self, pre):
        """m / ||V||_row * V, V = W0 + (alpha/r) B A; the norm differentiated
        (NVlabs/DoRA; PEFT detaches it), as docs/methods.md states."""
        P = self.P
        V = P[pre + ".weight"] + self.o["alpha"] / self.o["rank"] * P[pre + ".lora_B"] @ P[pre + ".lora_A"]
        return (P[pre + ".dora_magnitude"] / V.norm(dim=1))[:, None] * V

    def forward(self):
        """The pooled [CLS] of the batch."""
        P, d = self.P, self.dims
        C, H, L = d["d"], d["heads"], d["layers"]
        ids, tmask, images = self.batch["text_ids"].long(), self.batch["text_mask"].bool(), self.batch["images"]
        B, Tt = ids.shape
        types = P["token_type_embeddings.weight"]
        t = P["text_embeddings.word_embeddings.weight"][ids] + P["text_embeddings.position_embeddings.weight"][:Tt]
        t = F.layer_norm(t, (C,), P["text_embeddings.LayerNorm.weight"], P["text_embeddings.LayerNorm.bias"], 1e-12)
        t = t + types[0]
        pe = "transformer.patch_embed.proj."
        p = F.conv2d(images.to(t.dtype), P[pe + "weight"], P[pe + "bias"], stride=d["patch"])
        p = p.flatten(2).transpose(1, 2)
        i = torch.cat([P["transformer.cls_token"].expand(B, -1, -1), p], 1) + P["transformer.pos_embed"] + types[1]
        x = torch.cat([t, i], 1)
        prompts = P.get("transformer.prompts")
        n_prompt = prompts.shape[1] if prompts is not None else 0
        T0 = x.shape[1]
        key_mask = torch.cat([tmask, torch.ones(B, T0 - Tt + n_prompt, dtype=torch.bool)], 1)
        for layer in range(L):
            if n_prompt:
                x = torch.cat([x[:, :T0], prompts[layer].expand(B, -1, -1)], 1)
            blk = f"transformer.blocks.{layer}."
            h = F.layer_norm(x, (C,), P[blk + "norm1.weight"], P[blk + "norm1.bias"], 1e-6)
            T = x.shape[1]
            heads = [self.linear(layer, k, h).view(B, T, H, C // H).transpose(1, 2) for k in ("q", "k", "v")]
            att = (heads[0] @ heads[1].transpose(-2, -1)) * (C // H) ** -0.5
            att = att.masked_fill(~key_mask[:, None, None, :], float("-inf")).softmax(-1)
            x = x + self.linear(layer, "proj", (att @ heads[2]).transpose(1, 2).reshape(B, T, C))
            h = F.layer_norm(x, (C,), P[blk + "norm2.weight"], P[blk + "norm2.bias"], 1e-6)
            x = x + self.linear(layer, "fc2", F.gelu(self.linear(layer, "fc1", h)))
        x = F.layer_norm(x, (C,), P["transformer.norm.weight"], P["transformer.norm.bias"], 1e-6)
        return torch.tanh(x[:, 0] @ P["pooler.dense.weight"].T + P["pooler.dense.bias"])

    def task_loss(self):
        P, hd = self.P, HEAD_PREFIX
        h = self.forward() @ P[hd + "0.weight"].T + P[hd + "0.bias"]
        h = F.gelu(F.layer_norm(h, (h.shape[1],), P[hd + "1.weight"], P[hd + "1.bias"], 1e-5))
        logits = h @ P[hd + "3.weight"].T + P[hd + "3.bias"]
        targets = self.batch["targets"].to(logits.dtype)
        return F.binary_cross_entropy_with_logits(logits, targets) * targets.shape[1] * self.cfg["loss_scale"]

    # ---- MoIL ---------------------------------------------------------------

    def moil_sites(self):
        """(layer, kind) of every adapted projection, in the engine's order."""
        return [(l, k) for l in range(self.dims["layers"]) for k in KINDS if k in self.targets]

    def moil_init(self):
        """W0, b0 and the EMA start at the pretrained online weights (held
        apart from the engine's own copies, which are compared to them)."""
        self.W0, self.ema = {}, {}
        for l, k in self.moil_sites():
            pre = lin_prefix(l, k)
            for w in ("weight", "bias"):
                self.W0[f"{pre}.{w}"] = self.P[f"{pre}.{w}"].detach().clone()
                self.ema[f"{pre}.{w}"] = self.P[f"{pre}.{w}"].detach().clone()
        self.momentum = self.cfg["describe"]["momentum_used"]

    def moil_student(self, layer, kind):
        """The folded student W_hat, b_hat of one projection."""
        P, pre = self.P, lin_prefix(layer, kind)
        W0, b0 = self.W0[pre + ".weight"], self.W0[pre + ".bias"]
        form = self.o["student"]
        M = W0 + P[pre + ".lora_B"] @ P[pre + ".lora_A"] if form != "adapter" else W0
        if form == "lora":
            return M, b0
        a = f"transformer.blocks.{layer}.attn.moil_adapter."
        Aa, aA, Ba, bB = P[a + "down.weight"], P[a + "down.bias"], P[a + "up.weight"], P[a + "up.bias"]
        eye = torch.eye(M.shape[1], dtype=M.dtype)
        return M @ (eye + Ba @ Aa), M @ (Ba @ aA + bB) + b0

    def moil_imitation(self):
        total = 0.0
        for l, k in self.moil_sites():
            pre = lin_prefix(l, k)
            W_hat, b_hat = self.moil_student(l, k)
            total = total + ((self.ema[pre + ".weight"] - W_hat) ** 2).mean() + \
                ((self.ema[pre + ".bias"] - b_hat) ** 2).mean()
        return self.o["imitation_scale"] * total

    def moil_ema_update(self):
        """m e + (1 - m) W, written e + (1 - m)(W - e) as the engine does: the
        same in exact arithmetic, and a float32 replay (the floor) then keeps
        the second step's update exact where W = e (the first step runs at
        learning rate 0) instead of feeding rounding to the student's AdamW."""
        with torch.no_grad():
            for name, e in self.ema.items():
                e.add_((1 - self.momentum) * (self.P[name] - e))

    # ---- training -----------------------------------------------------------

    def lr_at(self, s):
        c = self.cfg
        total, warmup, peak = c["steps"], c["warmup"], c["lr"]
        if warmup > 0 and s < warmup:
            return peak * (s + (c["schedule"] == "shifted")) / warmup
        return peak if total <= warmup else peak * max(total - s, 0) / (total - warmup)

    def adamw(self, lr):
        b1, b2, eps, wd = 0.9, 0.98, 1e-8, self.cfg["weight_decay"]
        with torch.no_grad():
            for name in sorted(self.trainable):
                p = self.P[name]
                if p.grad is None:  # no gradient this step: skipped, its state untouched
                    continue
                st = self.state.setdefault(name, {"step": 0, "m": torch.zeros_like(p), "v": torch.zeros_like(p)})
                st["step"] += 1
                a = lr * self.lr_mult(name)
                decay = a * wd if self.decays(name) else 0.0
                g, t = p.grad, st["step"]
                if self.cfg["adamw"] == "torch":
                    p.mul_(1 - decay)
                st["m"].mul_(b1).add_((1 - b1) * g)
                st["v"].mul_(b2).add_((1 - b2) * g * g)
                bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
                if self.cfg["adamw"] == "transformers":
                    p.sub_(a * math.sqrt(bc2) / bc1 * st["m"] / (st["v"].sqrt() + eps))
                    p.mul_(1 - decay)
                else:
                    p.sub_(a / bc1 * st["m"] / ((st["v"] / bc2).sqrt() + eps))

    def train(self):
        moil = self.method == "moil"
        for s in range(self.cfg["steps"]):
            for name in self.trainable:  # zeroed where they exist, as optimizer.zero_grad()
                if self.P[name].grad is not None:
                    self.P[name].grad.zero_()
            loss = self.task_loss()
            if moil and s >= 1:  # MoIL from the second step: the EMA update, then the imitation loss
                self.moil_ema_update()
                loss = loss + self.moil_imitation()
            loss.backward()
            for name in self.trainable:
                g = self.P[name].grad
                if g is not None:
                    self.gmax[name] = max(self.gmax.get(name, 0.0), g.abs().max().item())
            lr = self.lr_at(s)
            self.lr_sum += lr
            self.adamw(lr)

    def gradient_free(self):
        """The trained tensors whose gradient was zero throughout, up to
        float64 rounding (1e-10 of the largest gradient): the attention's k
        bias, whose every value shifts all scores of a query alike, which the
        softmax ignores. In float32 its gradient is rounding noise, which AdamW
        turns into steps of up to lr x noise / eps: where they go no
        reference can say, so only their size is checked (adam_bound)."""
        top = max(self.gmax.values(), default=0.0)
        return {n for n, g in self.gmax.items() if g <= 1e-10 * top}

    def adam_bound(self):
        """Per tensor, the most AdamW can move a weight in the run: |m| /
        sqrt(v) <= (1 - b1) / sqrt(1 - b2) / sqrt(1 - b1^2 / b2) < 1.7, the
        bias corrections at most 1.42 (the first step), so 2.5 lr per step."""
        return {n: 2.5 * self.lr_sum * self.lr_mult(n) for n in self.trainable}

    # ---- what the engine wrote ----------------------------------------------

    def variant(self, name):
        """Every tensor as the engine's evaluation variant `name` holds it."""
        out = {k: v.detach().clone() for k, v in self.P.items()}
        if self.method == "moil":
            for l, k in self.moil_sites():
                pre = lin_prefix(l, k)
                out[pre + ".moil_W0"], out[pre + ".moil_b0"] = self.W0[pre + ".weight"], self.W0[pre + ".bias"]
                out[pre + ".moil_ema.weight"] = self.ema[pre + ".weight"].clone()
                out[pre + ".moil_ema.bias"] = self.ema[pre + ".bias"].clone()
                if name == "student":
                    with torch.no_grad():
                        out[pre + ".weight"], out[pre + ".bias"] = self.moil_student(l, k)
                elif name == "ema":
                    out[pre + ".weight"], out[pre + ".bias"] = self.ema[pre + ".weight"], self.ema[pre + ".bias"]
        elif name == "merged":
            with torch.no_grad():
                for l in range(self.dims["layers"]):
                    for k in self.targets:
                        pre = lin_prefix(l, k)
                        if self.method == "dora":
                            out[pre + ".weight"] = self.dora_weight(pre)
                        else:
                            fold = self.lora_scale() * out[pre + ".lora_B"] @ out[pre + ".lora_A"]
                            out[pre + ".weight"] = out[pre + ".weight"] + fold
        return out


def l2_rel(a, b):
    """||a - b|| / ||b|| over the tensor (an exact match where b is all zero)."""
    diff, scale = (a - b).norm().item(), b.norm().item()
    return diff / scale if scale > 0 else (0.0 if diff == 0 else math.inf)


def train_reference(init, cfg, dev, dtype):
    torch.set_default_dtype(dtype)
    try:
        ref = Reference(init, cfg, dev)
        ref.train()
    finally:
        torch.set_default_dtype(torch.float64)
    return ref


def run_case(directory, label, dev):
    """Replay one case and compare; its verdict line."""
    init, meta = read_safetensors(os.path.join(directory, f"{label}.init.safetensors"))
    cfg = json.loads(meta["config"])
    if cfg["clip"] != 0 or cfg["dropout"] != 0:
        return f"case {label} tensors=0: FAIL the reference trains without clipping and dropout only"
    ref = train_reference(init, cfg, dev, torch.float64)
    if ref.trainable != set(cfg["trainable"]):
        return (f"case {label} tensors=0: FAIL the engine trains {sorted(set(cfg['trainable']) - ref.trainable)} "
                f"beyond the official set and not {sorted(ref.trainable - set(cfg['trainable']))}")
    floor = train_reference(init, cfg, dev, torch.float32)
    free = ref.gradient_free()
    bound = ref.adam_bound()
    worst, worst32, n, problems = (0.0, "-"), 0.0, 0, []
    for variant in cfg["variants"]:
        engine, _ = read_safetensors(os.path.join(directory, f"{label}.{variant}.safetensors"))
        expected, expected32 = ref.variant(variant), floor.variant(variant)
        missing = sorted(set(engine) ^ set(expected))
        if missing:
            problems.append(f"{variant}: tensors in one side only: {missing}")
        for name in sorted(set(engine) & set(expected)):
            a, b = torch.from_numpy(engine[name].astype(np.float64)), expected[name].double()
            n += 1
            if name in free:
                moved = (a - b).abs().max().item()
                if moved > bound[name]:
                    problems.append(f"{variant}:{name} has no gradient but moved {moved:.3g} > {bound[name]:.3g}")
                continue
            rel = l2_rel(a, b)
            worst32 = max(worst32, l2_rel(expected32[name].double(), b))
            if VERBOSE and rel > TOL / 10:
                print(f"    {variant}:{name}: {rel:.3g}")
            if rel > worst[0]:
                worst = (rel, f"{variant}:{name}")
    if worst[0] > TOL:
        problems.append(f"{worst[1]} differs by {worst[0]:.3g} > {TOL:g}")
    verdict = "ok" if not problems else "FAIL " + "; ".join(problems)
    return (f"case {label} rel={worst[0]:.2g} ({worst[1]}) torch_float32={worst32:.2g} tensors={n} "
            f"gradient_free={','.join(sorted(free)) or '-'}: {verdict}")


def main():
    global VERBOSE
    args = sys.argv[1:]
    official, VERBOSE = "--official" in args, "--verbose" in args
    args = [a for a in args if a not in ("--official", "--verbose")]
    if len(args) != 1:
        sys.exit(__doc__.strip().splitlines()[-1])
    dev = {k: (False if official else v) for k, v in DEVIATIONS.items()}
    print("reference_step: float64, tolerance %g, deviations accepted: %s" %
          (TOL, ", ".join(k for k, v in dev.items() if v) or "none"))
    labels = sorted(os.path.basename(p)[:-len(".init.safetensors")]
                    for p in glob.glob(os.path.join(args[0], "*.init.safetensors")))
    passed = 0
    for label in labels:
        line = run_case(args[0], label, dev)
        print(line, flush=True)
        passed += line.endswith(": ok")
    sys.exit(0 if labels and passed == len(labels) else 1)


if __name__ == "__main__":
    main()
