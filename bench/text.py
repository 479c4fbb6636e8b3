"""vaekit's sentence VAE against a PyTorch one of the same size, side by side on this machine.

    bench/.venv/bin/python bench/text.py [--epochs 3] [--threads 2] [--vaekit target/release/vaekit]

Both train on ../shared/data/text/wordnet-examples.train.txt and validate on its .valid.txt:
the same vocabulary (vaekit's run writes vocab.txt; the PyTorch side reads it and tokenizes with
the same rules: lower case, punctuation split from words, an apostrophe or hyphen between
letters kept), the same model (embedding 256 shared by both networks, a GRU encoder whose state
after the last token gives mu and logvar of a 32-d z, a GRU decoder starting from a linear map of
z and reading z beside every input, dropout 0.5 on the embeddings and the decoder's outputs,
softmax over the vocabulary), the same objective (per-sentence reconstruction + beta * KL, beta
from 0 to 1 over --kl-epochs epochs), Adam 1e-3, gradient clipping at 5, batches of 32
bucketed by length. Each side reports its training tokens per second (end tokens counted, the
time of the training loop only) and, after every epoch, the validation -ELBO per word with
beta = 1 and no dropout. The table gives the ratio of speeds and each side's validation
per-word -ELBO after the same wall time: the last epoch each had finished when the side that
ends its --epochs epochs first ends them.
"""

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TEXT = os.path.join(ROOT, "..", "shared", "data", "text")


def split_word(word):
    out, current = [], ""
    for i, c in enumerate(word):
        joins = c in "'-" and i > 0 and word[i - 1].isalnum() and i + 1 < len(word) and word[i + 1].isalnum()
        if c.isalnum() or joins:
            current += c
        else:
            if current:
                out.append(current)
                current = ""
            out.append(c)
    if current:
        out.append(current)
    return out


def tokenize(line, ids, max_length):
    tokens = [t for w in line.lower().split() for t in split_word(w)]
    return [ids.get(t, 3) for t in tokens[:max_length]]


def read_vocab(path):
    with open(path, encoding="utf-8") as f:
        tokens = [t.replace("\\n", "\n").replace("\\\\", "\\") for t in f.read().split("\n")[:-1]]
    return {t: i for i, t in enumerate(tokens)}


def torch_side(args, vocab_path):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    ids = read_vocab(vocab_path)
    V = len(ids)

    def read(name):
        with open(os.path.join(TEXT, name), encoding="utf-8") as f:
            sents = [tokenize(l, ids, 50) for l in f.read().split("\n")]
        return [s for s in sents if s]

    train, valid = read("wordnet-examples.train.txt"), read("wordnet-examples.valid.txt")

    class SentenceVae(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(V, 256)
            self.encoder = nn.GRU(256, 256, batch_first=True)
            self.mu, self.logvar = nn.Linear(256, 32), nn.Linear(256, 32)
            self.init_state = nn.Linear(32, 256)
            self.decoder = nn.GRU(256 + 32, 256, batch_first=True)
            self.out = nn.Linear(256, V)
            self.drop = nn.Dropout(0.5)

        def forward(self, batch, beta):
            lengths = torch.tensor([len(s) for s in batch])
            T = int(lengths.max())
            x = torch.zeros(len(batch), T, dtype=torch.long)
            dec_in = torch.zeros(len(batch), T + 1, dtype=torch.long)
            target = torch.zeros(len(batch), T + 1, dtype=torch.long)
            for i, s in enumerate(batch):
                x[i, : len(s)] = torch.tensor(s)
                dec_in[i, 0] = 1
                dec_in[i, 1 : len(s) + 1] = torch.tensor(s)
                target[i, : len(s)] = torch.tensor(s)
                target[i, len(s)] = 2
            mask = (torch.arange(T + 1)[None, :] <= lengths[:, None]).float()
            packed = nn.utils.rnn.pack_padded_sequence(self.drop(self.embedding(x)), lengths,
                                                       batch_first=True, enforce_sorted=False)
            _, h = self.encoder(packed)
            mu, logvar = self.mu(h[0]), self.logvar(h[0])
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            e = self.drop(self.embedding(dec_in))
            e = torch.cat([e, z[:, None, :].expand(-1, T + 1, -1)], 2)
            out, _ = self.decoder(e, self.init_state(z)[None])
            logits = self.out(self.drop(out))
            nll = F.cross_entropy(logits.reshape(-1, V), target.reshape(-1), reduction="none")
            recon = (nll.reshape(len(batch), T + 1) * mask).sum(1)
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
            return recon.mean() + beta * kl.mean(), recon.sum().item() + kl.sum().item(), int(mask.sum())

    model = SentenceVae()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    per_epoch = math.ceil(len(train) / 32)
    curve, step, elapsed = [], 0, 0.0
    for epoch in range(1, args.epochs + 1):
        order = list(range(len(train)))
        rng.shuffle(order)
        batches = []
        for p in range(0, len(order), 32 * 50):
            pool = sorted(order[p : p + 32 * 50], key=lambda i: len(train[i]))
            batches += [pool[b : b + 32] for b in range(0, len(pool), 32)]
        rng.shuffle(batches)
        model.train()
        start, tokens = time.time(), 0
        for b in batches:
            beta = min(1.0, (step + 1) / (args.kl_epochs * per_epoch))
            loss, _, words = model([train[i] for i in b], beta)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            step += 1
            tokens += words
        seconds = time.time() - start
        elapsed += seconds
        model.eval()
        with torch.no_grad():
            total, words = 0.0, 0
            for b in range(0, len(valid), 256):
                _, t, w = model(valid[b : b + 256], 1.0)
                total, words = total + t, words + w
        curve.append({"epoch": epoch, "elapsed": elapsed, "tokens_per_second": tokens / seconds,
                      "val_per_word": total / words})
        print("pytorch", json.dumps(curve[-1]), flush=True)
    return curve


def vaekit_side(args, work):
    run = os.path.join(work, "vaekit")
    subprocess.run([args.vaekit, "--threads", str(args.threads), "train", "--data",
                    os.path.join(TEXT, "wordnet-examples.train.txt"), "--out", run, "--epochs",
                    str(args.epochs), "--batch-size", "32", "--kl-warmup", str(args.kl_epochs), "-q"],
                   check=True)
    curve, elapsed = [], 0.0
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            m = json.loads(line)
            elapsed += m["seconds"]
            curve.append({"epoch": m["epoch"], "elapsed": elapsed,
                          "tokens_per_second": m["tokens_per_second"],
                          "val_per_word": m["val"]["neg_elbo_per_word"]})
            print("vaekit", json.dumps(curve[-1]), flush=True)
    return curve, os.path.join(run, "vocab.txt")


def at_time(curve, t):
    done = [c for c in curve if c["elapsed"] <= t + 1e-9]
    return done[-1] if done else None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vaekit", default=os.path.join(ROOT, "target/release/vaekit"))
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--kl-epochs", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=os.path.join(HERE, "TEXT.md"))
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="vaekit-text-")
    ours, vocab = vaekit_side(args, work)
    theirs = torch_side(args, vocab)
    t = min(ours[-1]["elapsed"], theirs[-1]["elapsed"])
    a, b = at_time(ours, t), at_time(theirs, t)
    speed = lambda c: sum(x["tokens_per_second"] for x in c) / len(c)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    lines = [f"# vaekit's sentence VAE against PyTorch's ({time.strftime('%Y-%m-%d')}, commit {commit}, "
             f"{args.threads} threads)", "",
             f"Made by `bench/.venv/bin/python bench/text.py --epochs {args.epochs}`.", "",
             "| side | tokens/s (mean over epochs) | epochs | training seconds | validation -ELBO per word |",
             "|---|---|---|---|---|"]
    for name, c in (("vaekit", ours), ("PyTorch", theirs)):
        lines.append(f"| {name} | {speed(c):.0f} | {len(c)} | {c[-1]['elapsed']:.1f} | {c[-1]['val_per_word']:.4f} |")
    lines += ["", f"Speed ratio vaekit / PyTorch: {speed(ours) / speed(theirs):.2f}x.",
              f"After {t:.0f} s of training: vaekit {a['val_per_word'] if a else float('nan'):.4f}, "
              f"PyTorch {b['val_per_word'] if b else float('nan'):.4f} nats per word "
              "(the last epoch each had finished)."]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
