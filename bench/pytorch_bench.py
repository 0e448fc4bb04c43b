#!/usr/bin/python3
"""PyTorch side of bench_trainer: the same networks, data and recipe as larch's trainer.

Run by bench_trainer as `/usr/bin/python3 bench/pytorch_bench.py --serve DATA_DIR`: it reads one
command per line on stdin and answers one line on stdout, so the C bench can alternate larch and
PyTorch measurements in one process each:

  throughput NET BATCH THREADS IMAGES REPEATS -> "ok IMAGES_PER_S ..." (one value per repeat)
  accuracy NET BATCH THREADS EPOCHS LR SEED   -> "ok TEST_ACCURACY TRAIN_SECONDS"
  quit

NET is "reference" or "cell". Standalone: `pytorch_bench.py throughput reference 64 1 6400 3`.
"""
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    """An IDX file (plain or gzip) as a numpy array."""
    for name in (path, path + ".gz"):
        if os.path.exists(name):
            with open(name, "rb") as f:
                raw = f.read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            ndim = raw[3]
            dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    raise FileNotFoundError(path)


class Data:
    """Fashion-MNIST normalised as larch does: (v / 255 - mean) / std, the training set's stats."""

    def __init__(self, directory):
        tr_x = read_idx(os.path.join(directory, "train-images-idx3-ubyte"))
        self.train_y = torch.from_numpy(
            read_idx(os.path.join(directory, "train-labels-idx1-ubyte")).astype(np.int64))
        te_x = read_idx(os.path.join(directory, "t10k-images-idx3-ubyte"))
        self.test_y = torch.from_numpy(
            read_idx(os.path.join(directory, "t10k-labels-idx1-ubyte")).astype(np.int64))
        pix = tr_x.astype(np.float64)
        mean = pix.mean() / 255.0
        std = pix.std() / 255.0
        table = ((np.arange(256, dtype=np.float32) / np.float32(255.0) - np.float32(mean))
                 / np.float32(std)).astype(np.float32)
        self.train_x = torch.from_numpy(table[tr_x][:, None, :, :].copy())
        self.test_x = torch.from_numpy(table[te_x][:, None, :, :].copy())


def conv3x3(c_in, c_out, stride=1):
    return nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)


class ReferenceNet(nn.Module):
    """larch's trainer_network_new_reference: 4 x (conv3x3, BN, ReLU), GAP, linear."""

    def __init__(self, classes=10):
        super().__init__()
        layers = []
        for c_in, c_out, stride in ((1, 16, 1), (16, 32, 2), (32, 32, 1), (32, 64, 2)):
            layers += [conv3x3(c_in, c_out, stride), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in, c_out, k, stride):
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2,
                                                           bias=False), nn.BatchNorm2d(c_out))


class Cell(nn.Module):
    """A 4-node NAS-Bench-201 cell whose 6 edges are all nor_conv_3x3."""

    def __init__(self, c, nodes=4):
        super().__init__()
        self.nodes = nodes
        self.edges = nn.ModuleList(
            [ReLUConvBN(c, c, 3, 1) for j in range(1, nodes) for i in range(j)])

    def forward(self, x):
        values = [x]
        e = 0
        for j in range(1, self.nodes):
            total = None
            for i in range(j):
                out = self.edges[e](values[i])
                e += 1
                total = out if total is None else total + out
            values.append(total)
        return values[-1]


class Reduction(nn.Module):
    """NAS-Bench-201's ResNetBasicblock at stride 2, as larch builds it."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.a = ReLUConvBN(c_in, c_out, 3, 2)
        self.b = ReLUConvBN(c_out, c_out, 3, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.b(self.a(x)) + self.shortcut(x)


class CellNet(nn.Module):
    """stem conv3x3 + BN; cell; reduction; cell; reduction; cell; BN-ReLU; GAP; linear."""

    def __init__(self, c=16, classes=10):
        super().__init__()
        self.stem = nn.Sequential(conv3x3(1, c), nn.BatchNorm2d(c))
        self.body = nn.Sequential(Cell(c), Reduction(c, 2 * c), Cell(2 * c), Reduction(2 * c, 4 * c),
                                  Cell(4 * c))
        self.bn = nn.BatchNorm2d(4 * c)
        self.fc = nn.Linear(4 * c, classes)

    def forward(self, x):
        x = F.relu(self.bn(self.body(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def build(net, seed):
    """The network with larch's initialisation: He-normal convs, U(+-1/sqrt(in)) linear, bias 0."""
    torch.manual_seed(seed)
    model = ReferenceNet() if net == "reference" else CellNet()
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        elif isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.in_features)
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)
    return model


def optimizer(model, lr):
    """larch's recipe: SGD, Nesterov momentum 0.9, weight decay 5e-4 except BN and biases."""
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    return torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=lr, momentum=0.9, nesterov=True)


def train_steps(model, opt, x, y, batch, order, sched=None):
    """Forward, backward and SGD step over the batches of order; returns the mean loss."""
    model.train()
    total = 0.0
    steps = len(order) // batch
    for s in range(steps):
        idx = order[s * batch:(s + 1) * batch]
        xb, yb = x[idx], y[idx]
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        total += float(loss)
    return total / max(steps, 1)


def throughput(data, net, batch, threads, images, repeats):
    torch.set_num_threads(threads)
    model = build(net, 1)
    opt = optimizer(model, 0.05)
    n = images // batch * batch
    x, y = data.train_x[:n], data.train_y[:n]
    order = torch.arange(n)
    train_steps(model, opt, x, y, batch, order[: 2 * batch])  # warm-up: oneDNN primitives
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        train_steps(model, opt, x, y, batch, order)
        rates.append(n / (time.perf_counter() - t0))
    return rates


def accuracy(data, net, batch, threads, epochs, lr, seed):
    """Full training set, cosine schedule per step to 0, then test accuracy (eval mode)."""
    torch.set_num_threads(threads)
    model = build(net, seed)
    opt = optimizer(model, lr)
    steps = len(data.train_x) // batch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * s / (steps * epochs))))
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(data.train_x), generator=gen)
        train_steps(model, opt, data.train_x, data.train_y, batch, order, sched)
    seconds = time.perf_counter() - t0
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(data.test_x), 1000):
            logits = model(data.test_x[s:s + 1000])
            correct += int((logits.argmax(1) == data.test_y[s:s + 1000]).sum())
    return correct / len(data.test_x), seconds


def answer(data, words):
    if words[0] == "throughput":
        net, batch, threads, images, repeats = words[1], *map(int, words[2:6])
        return "ok " + " ".join("%.1f" % r for r in throughput(data, net, batch, threads, images,
                                                                repeats))
    if words[0] == "accuracy":
        net, batch, threads, epochs = words[1], int(words[2]), int(words[3]), int(words[4])
        lr, seed = float(words[5]), int(words[6])
        acc, seconds = accuracy(data, net, batch, threads, epochs, lr, seed)
        return "ok %.4f %.1f" % (acc, seconds)
    return "error unknown command " + words[0]


def main():
    torch.set_num_interop_threads(1)
    args = sys.argv[1:]
    directory = "/usr/share/datasets/fashion-mnist"
    if args and args[0] == "--serve":
        if len(args) > 1:
            directory = args[1]
        data = Data(directory)
        print("ready torch %s" % torch.__version__, flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                break
            try:
                print(answer(data, words), flush=True)
            except Exception as e:  # the C side prints it and goes on
                print("error %s" % str(e).replace("\n", " "), flush=True)
        return
    print(answer(Data(directory), args))


if __name__ == "__main__":
    main()
