"""The PyTorch reference for bench/run: the same models vaekit trains, timed the same way.

Each workload prints one JSON object on stdout. The models match vaekit's layer for layer
(PyTorch's default initialization is vaekit's), the loss is the batch mean of the summed
Bernoulli NLL plus the closed-form KL, the optimizer is torch.optim.Adam (lr 1e-3, eps 1e-8),
and batches are drawn from a fresh permutation each epoch, as vaekit does.

    python reference.py --workload mlp-epoch --data ../../shared/data/mnist --threads 2
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

START = time.time()

import torch  # noqa: E402  (imported after START on purpose: import time counts)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def read_idx(path):
    """An IDX file (gzip or not) as a uint8 tensor of its shape."""
    for candidate in (path, path + ".gz"):
        if os.path.exists(candidate):
            path = candidate
            break
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = bytearray(data[4 + 4 * ndim :])
    return torch.frombuffer(body, dtype=torch.uint8).reshape(dims)


def mnist(folder, split, limit=None):
    name = "train-images-idx3-ubyte" if split == "train" else "t10k-images-idx3-ubyte"
    images = read_idx(os.path.join(folder, name))
    if limit is not None:
        images = images[:limit]
    return images.reshape(images.shape[0], -1).float() / 255.0


class MlpVae(nn.Module):
    """784-400-20 with ReLU, as `vaekit train --hidden 400 --latent 20`."""

    def __init__(self, dim=784, hidden=400, latent=20):
        super().__init__()
        self.hidden = nn.Linear(dim, hidden)
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.dec_hidden = nn.Linear(latent, hidden)
        self.out = nn.Linear(hidden, dim)

    def encode(self, x):
        h = F.relu(self.hidden(x))
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        return self.out(F.relu(self.dec_hidden(z)))


class ConvVae(nn.Module):
    """`vaekit train --arch conv --conv-channels 32,64 --latent 16` on 28x28 images."""

    def __init__(self, latent=16):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 4, stride=2, padding=1)
        self.mu = nn.Linear(64 * 7 * 7, latent)
        self.logvar = nn.Linear(64 * 7 * 7, latent)
        self.project = nn.Linear(latent, 64 * 7 * 7)
        self.deconv1 = nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
        self.deconv2 = nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1)

    def encode(self, x):
        h = F.relu(self.conv2(F.relu(self.conv1(x.view(-1, 1, 28, 28)))))
        h = h.flatten(1)
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        h = F.relu(self.project(z)).view(-1, 64, 7, 7)
        return self.deconv2(F.relu(self.deconv1(h))).flatten(1)


class IwaeMlp(MlpVae):
    """The IWAE paper's one-stochastic-layer network: 784-200-200-50, tanh, as
    `vaekit train --hidden 200,200 --activation tanh --latent 50`."""

    def __init__(self, dim=784, hidden=200, latent=50):
        super().__init__(dim, hidden, latent)
        self.hidden2 = nn.Linear(hidden, hidden)
        self.dec_hidden2 = nn.Linear(hidden, hidden)

    def encode(self, x):
        h = torch.tanh(self.hidden2(torch.tanh(self.hidden(x))))
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        return self.out(torch.tanh(self.dec_hidden2(torch.tanh(self.dec_hidden(z)))))


LOG_2PI = 1.8378770664093453


def tanh_layers(sizes, batch_norm):
    """Linear layers between `sizes`, each batch-normalized (when asked) before its tanh."""
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers.append(nn.Linear(a, b))
        if batch_norm:
            layers.append(nn.BatchNorm1d(b))
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class GaussianMlp(nn.Module):
    """Hidden tanh layers, then a mean head and a log-variance head."""

    def __init__(self, sizes, out, batch_norm):
        super().__init__()
        self.body = tanh_layers(sizes, batch_norm)
        self.mu = nn.Linear(sizes[-1], out)
        self.logvar = nn.Linear(sizes[-1], out)

    def forward(self, x):
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class Hvae(nn.Module):
    """The IWAE paper's two-stochastic-layer network, as `vaekit train --model hvae
    [--batch-norm]`: q(z1|x) 784-200-200-100, q(z2|z1) 100-100-100-50, p(z1|z2)
    50-100-100-100, p(x|z1) 100-200-200-784, tanh, every hidden layer batch-normalized
    before its tanh with --batch-norm."""

    def __init__(self, batch_norm):
        super().__init__()
        self.q1 = GaussianMlp([784, 200, 200], 100, batch_norm)
        self.q2 = GaussianMlp([100, 100, 100], 50, batch_norm)
        self.p1 = GaussianMlp([50, 100, 100], 100, batch_norm)
        self.decoder = nn.Sequential(tanh_layers([100, 200, 200], batch_norm), nn.Linear(200, 784))

    def loss(self, x, generator):
        """The batch mean of -ELBO with one draw of each layer, the KL terms from the draws."""
        mu1, logvar1 = self.q1(x)
        e1 = torch.randn(mu1.shape, generator=generator)
        z1 = mu1 + torch.exp(0.5 * logvar1) * e1
        mu2, logvar2 = self.q2(z1)
        e2 = torch.randn(mu2.shape, generator=generator)
        z2 = mu2 + torch.exp(0.5 * logvar2) * e2
        prior_mu1, prior_logvar1 = self.p1(z2)
        logits = self.decoder(z1)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        log_q = (-0.5 * (e1.pow(2) + logvar1 + LOG_2PI)).sum(1) \
            + (-0.5 * (e2.pow(2) + logvar2 + LOG_2PI)).sum(1)
        log_p = (-0.5 * ((z1 - prior_mu1).pow(2) / prior_logvar1.exp() + prior_logvar1
                         + LOG_2PI)).sum(1) + (-0.5 * (z2.pow(2) + LOG_2PI)).sum(1)
        return (recon + log_q - log_p).mean()


def log_weights(model, x, k, generator):
    """log p(x|z) + log p(z) - log q(z|x) of k draws of z per row of x: `[rows, k]`, as a
    user writes it (every draw decoded in one batch)."""
    mu, logvar = model.encode(x)
    eps = torch.randn(x.shape[0], k, mu.shape[1], generator=generator)
    z = mu.unsqueeze(1) + torch.exp(0.5 * logvar).unsqueeze(1) * eps
    logits = model.decode(z.reshape(-1, mu.shape[1])).reshape(x.shape[0], k, -1)
    target = x.unsqueeze(1).expand_as(logits)
    log_px = -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
    log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
    log_qz = -0.5 * (eps.pow(2) + logvar.unsqueeze(1) + LOG_2PI).sum(-1)
    return log_px + log_pz - log_qz


def neg_elbo_terms(model, x, eps):
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * eps
    logits = model.decode(z)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
    return recon, kl


def train_steps(model, data, batch_size, steps, generator, on_first_step=None, reduction="mean",
                optimizer=None):
    """Trains for `steps` steps (epochs of fresh permutations as needed); returns seconds.
    An `optimizer` from an earlier call (kept as `model._optimizer`) goes on with its state."""
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model._optimizer = optimizer
    latent = model.mu.out_features
    done = 0
    started = time.perf_counter()
    while done < steps:
        order = torch.randperm(data.shape[0], generator=generator)
        for start in range(0, data.shape[0], batch_size):
            x = data[order[start : start + batch_size]]
            eps = torch.randn(x.shape[0], latent, generator=generator)
            recon, kl = neg_elbo_terms(model, x, eps)
            loss = (recon + kl).mean() if reduction == "mean" else (recon + kl).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_value = loss.item()  # one read per step, as vaekit's metrics do
            done += 1
            if done == 1 and on_first_step is not None:
                on_first_step()
            if done == steps:
                break
    seconds = time.perf_counter() - started
    if loss_value != loss_value:
        raise SystemExit("the reference's loss is NaN")
    return seconds


def train_epoch(model, data, batch_size, generator, loss_of):
    """One epoch of Adam (lr 1e-3) on `loss_of(x)` over batches of a fresh permutation;
    returns seconds."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    started = time.perf_counter()
    order = torch.randperm(data.shape[0], generator=generator)
    for start in range(0, data.shape[0], batch_size):
        loss = loss_of(data[order[start : start + batch_size]])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_value = loss.item()
    seconds = time.perf_counter() - started
    if loss_value != loss_value:
        raise SystemExit("the reference's loss is NaN")
    return seconds


def iwae_loss(model, x, k, generator):
    """The batch mean of the k-sample importance-weighted bound, negated."""
    lw = log_weights(model, x, k, generator)
    return -(torch.logsumexp(lw, 1) - torch.log(torch.tensor(float(k)))).mean()


def mean_neg_elbo(model, data, generator):
    with torch.no_grad():
        total = 0.0
        for start in range(0, data.shape[0], 1000):
            x = data[start : start + 1000]
            eps = torch.randn(x.shape[0], model.mu.out_features, generator=generator)
            recon, kl = neg_elbo_terms(model, x, eps)
            total += float((recon + kl).sum())
    return total / data.shape[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workload", required=True,
                        choices=["mlp-epoch", "conv-steps", "encode", "score", "first-step",
                                 "quality", "iw-eval", "iwae-epoch", "time-to-quality",
                                 "hvae-epoch", "hvae-bn-epoch"])
    parser.add_argument("--data", required=True, help="folder with the MNIST IDX files")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=10, help="quality: epochs to train")
    parser.add_argument("--samples", type=int, default=5000, help="iw-eval, iwae-epoch: K")
    parser.add_argument("--limit", type=int, default=1000, help="iw-eval: test images")
    parser.add_argument("--target", type=float, default=110.0,
                        help="time-to-quality: the validation -ELBO to reach, nats")
    parser.add_argument("--max-epochs", type=int, default=30, help="time-to-quality: give up after")
    parser.add_argument("--reduction", choices=["mean", "sum"], default="mean",
                        help="quality: average the loss over the batch (as vaekit) or sum it "
                             "(as pytorch/examples vae/main.py)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    result = {"workload": args.workload, "threads": torch.get_num_threads(),
              "torch": torch.__version__}

    if args.workload == "mlp-epoch":
        data = mnist(args.data, "train")
        steps = (data.shape[0] + 127) // 128
        result["seconds"] = train_steps(MlpVae(), data, 128, steps, generator)
        result["examples"] = data.shape[0]
    elif args.workload == "conv-steps":
        data = mnist(args.data, "train", limit=128 * args.steps)
        result["seconds"] = train_steps(ConvVae(), data, 128, args.steps, generator)
        result["examples"] = 128 * args.steps
    elif args.workload == "quality":
        # The foundation's quality bar, trained and scored by PyTorch: test -ELBO per image.
        data = mnist(args.data, "train")
        model = MlpVae()
        steps = args.epochs * ((data.shape[0] + 127) // 128)
        result["seconds"] = train_steps(model, data, 128, steps, generator,
                                        reduction=args.reduction)
        test = mnist(args.data, "test")
        with torch.no_grad():
            total = 0.0
            for start in range(0, test.shape[0], 1000):
                x = test[start : start + 1000]
                eps = torch.randn(x.shape[0], 20, generator=generator)
                recon, kl = neg_elbo_terms(model, x, eps)
                total += float((recon + kl).sum())
        result["test_neg_elbo"] = total / test.shape[0]
        result["reduction"] = args.reduction
        result["epochs"] = args.epochs
    elif args.workload == "iw-eval":
        # -log p(x) with K importance samples, written as a user would: one image's K draws
        # per batch, the log-sum-exp in float64.
        model = MlpVae()
        data = mnist(args.data, "test", limit=args.limit)
        k = args.samples
        started = time.perf_counter()
        with torch.no_grad():
            total = 0.0
            for i in range(data.shape[0]):
                lw = log_weights(model, data[i : i + 1], k, generator).double()
                total += float(-(torch.logsumexp(lw, 1) - torch.log(torch.tensor(float(k),
                                                                                dtype=torch.float64))))
        result["seconds"] = time.perf_counter() - started
        result["nll"] = total / data.shape[0]
        result["examples"] = data.shape[0]
    elif args.workload == "iwae-epoch":
        data = mnist(args.data, "train")
        model = IwaeMlp()
        result["seconds"] = train_epoch(model, data, 100, generator,
                                        lambda x: iwae_loss(model, x, args.samples, generator))
        result["examples"] = data.shape[0]
    elif args.workload in ("hvae-epoch", "hvae-bn-epoch"):
        data = mnist(args.data, "train")
        model = Hvae(batch_norm=args.workload == "hvae-bn-epoch")
        result["seconds"] = train_epoch(model, data, 100, generator,
                                        lambda x: model.loss(x, generator))
        result["examples"] = data.shape[0]
    elif args.workload == "time-to-quality":
        # pytorch/examples' vae/main.py setting (784-400-20, batch 128, Adam 1e-3, the loss
        # summed over the batch), a random tenth of the training images held out: training
        # seconds, validation excluded, until the validation -ELBO is below --target.
        data = mnist(args.data, "train")
        order = torch.randperm(data.shape[0], generator=generator)
        held = data.shape[0] // 10
        val, train = data[order[:held]], data[order[held:]]
        model = MlpVae()
        steps = (train.shape[0] + 127) // 128
        optimizer_seconds, curve = 0.0, []
        optimizer = None
        for epoch in range(1, args.max_epochs + 1):
            optimizer_seconds += train_steps(model, train, 128, steps, generator,
                                             reduction="sum", optimizer=optimizer)
            optimizer = model._optimizer
            curve.append(mean_neg_elbo(model, val, generator))
            if curve[-1] < args.target:
                break
        result["seconds"] = optimizer_seconds
        result["epochs"] = len(curve)
        result["curve"] = curve
        result["reached"] = curve[-1] < args.target
    elif args.workload == "first-step":
        data = mnist(args.data, "train", limit=128)
        marks = {}
        train_steps(MlpVae(), data, 128, 1, generator,
                    on_first_step=lambda: marks.setdefault("t", time.time()))
        result["first_step_at"] = marks["t"]
        result["seconds_since_python_start"] = marks["t"] - START
    else:
        model = MlpVae()
        data = mnist(args.data, "test")
        started = time.perf_counter()
        with torch.no_grad():
            total = 0.0
            for start in range(0, data.shape[0], 1000):
                x = data[start : start + 1000]
                if args.workload == "encode":
                    mu, logvar = model.encode(x)
                    total += float(mu[0, 0])
                else:
                    eps = torch.randn(x.shape[0], 20, generator=generator)
                    recon, kl = neg_elbo_terms(model, x, eps)
                    total += float((recon + kl).sum())
        result["seconds"] = time.perf_counter() - started
        result["examples"] = data.shape[0]
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
