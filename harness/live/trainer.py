"""Training one MLP with one seed, epoch by epoch, in PyTorch.

Determinism: everything random in a run (weight initialisation and the order
of the training examples in every epoch) is drawn from one local
``torch.Generator`` seeded with the run's training seed. Nothing reads, seeds
or advances torch's global generator, and the thread count is left alone, so a
training run does not disturb the caller's randomness and is reproducible on
CPU: same data, architecture and seed give the same accuracies (the measured
seconds differ from run to run, as wall-clock time does).

The learning-rate schedule does not depend on the number of epochs (Adam,
constant rate), so the accuracy after epoch ``e`` of a longer run is the
accuracy of a run of ``e`` epochs: one run records every fidelity, and a run
can be continued later from where it stopped.

Training runs on one CPU thread (``THREADS``), set for the duration of each
call and restored afterwards: with batches of 64 a second thread gains little,
an oversubscribed machine makes multi-threaded small matrix products many
times slower, and one thread makes the arithmetic (hence the accuracies)
independent of how many cores a machine has.

The model is plain tensors and ``torch.nn.functional`` rather than
``nn.Linear``: constructing an ``nn.Linear`` initialises it from the global
generator, which is exactly what must not happen.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from time import perf_counter

import torch
import torch.nn.functional as F

from tabnas.live.data import Splits

#: Training settings; part of what a live benchmark (and a tabulated table) means.
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
#: CPU threads used while training and evaluating (the caller's setting is restored).
THREADS = 1
_ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


def resolve_device(device: str | None) -> torch.device:
    """``auto`` (or None) is CUDA when available, else the CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    from tabnas.errors import BadConfiguration

    try:
        dev = torch.device(device)
    except RuntimeError:
        raise BadConfiguration(f"unknown device {device!r}; use auto, cpu or cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BadConfiguration(f"device {device!r} asked for, but CUDA is not available here; "
                               "use device cpu")
    return dev


@contextmanager
def _threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


@dataclass(eq=False)
class DeviceData:
    """The splits as tensors on the training device (pixels kept as bytes until a batch)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_features: int
    n_classes: int
    device: torch.device

    @classmethod
    def from_splits(cls, splits: Splits, device: torch.device) -> DeviceData:
        def t(a):
            return torch.from_numpy(a.copy()).to(device)

        return cls(t(splits.x_train), t(splits.y_train), t(splits.x_valid), t(splits.y_valid),
                   t(splits.x_test), t(splits.y_test), splits.n_features,
                   max(10, splits.n_classes), device)


class TrainingRun:
    """One network, one training seed; :meth:`advance_to` trains and records per epoch.

    After epoch ``e`` the lists hold ``e`` entries: validation and test accuracy
    (percent), cumulative training seconds (forward, backward and update steps;
    evaluation excluded) and the mean training loss of that epoch.
    """

    def __init__(self, layers: list[tuple[int, str]], data: DeviceData, seed: int) -> None:
        self.data = data
        self.seed = seed
        self._gen = torch.Generator().manual_seed(seed)
        dims = [data.n_features, *(w for w, _ in layers), data.n_classes]
        self._acts = [_ACTIVATIONS[a] for _, a in layers]
        self._params: list[torch.Tensor] = []
        for fan_in, fan_out in zip(dims, dims[1:], strict=False):
            bound = 1.0 / math.sqrt(fan_in)  # nn.Linear's default initialisation
            for shape in ((fan_out, fan_in), (fan_out,)):
                p = torch.empty(shape).uniform_(-bound, bound, generator=self._gen)
                self._params.append(p.to(data.device).requires_grad_())
        self._opt = torch.optim.Adam(self._params, lr=LEARNING_RATE)
        self.valid_acc: list[float] = []
        self.test_acc: list[float] = []
        self.time_s: list[float] = []
        self.train_loss: list[float] = []

    @property
    def epochs(self) -> int:
        return len(self.valid_acc)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self._params
        for i, act in enumerate(self._acts):
            x = act(F.linear(x, p[2 * i], p[2 * i + 1]))
        return F.linear(x, p[-2], p[-1])

    def _accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad():
            correct = 0
            for start in range(0, len(y), 8192):
                xb = x[start:start + 8192].float().div_(255.0)
                pred = self._forward(xb).argmax(dim=1)
                correct += int((pred == y[start:start + 8192]).sum())
        return 100.0 * correct / len(y)

    def _epoch(self) -> None:
        d = self.data
        n = len(d.y_train)
        order = torch.randperm(n, generator=self._gen).to(d.device)
        total = torch.zeros((), device=d.device)
        cuda = d.device.type == "cuda"
        if cuda:
            torch.cuda.synchronize(d.device)
        t0 = perf_counter()
        for start in range(0, n, BATCH_SIZE):
            idx = order[start:start + BATCH_SIZE]
            x = d.x_train[idx].float().div_(255.0)
            loss = F.cross_entropy(self._forward(x), d.y_train[idx])
            self._opt.zero_grad(set_to_none=True)
            loss.backward()
            self._opt.step()
            total += loss.detach() * len(idx)
        if cuda:
            torch.cuda.synchronize(d.device)
        elapsed = perf_counter() - t0
        self.time_s.append((self.time_s[-1] if self.time_s else 0.0) + elapsed)
        self.train_loss.append(float(total) / n)
        self.valid_acc.append(self._accuracy(d.x_valid, d.y_valid))
        self.test_acc.append(self._accuracy(d.x_test, d.y_test))

    def advance_to(self, epoch: int) -> None:
        """Train until ``epoch`` epochs are done (nothing to do if they already are)."""
        if epoch > self.epochs and self._params is None:
            raise RuntimeError("this training run was released; start a new one")
        if self.epochs >= epoch:
            return
        with _threads(THREADS):
            while self.epochs < epoch:
                self._epoch()

    def release(self) -> None:
        """Drop the network and optimiser, keeping the records (no further epochs)."""
        self._params = None  # type: ignore[assignment]
        self._opt = None  # type: ignore[assignment]

    def records(self) -> dict[str, list[float]]:
        return {"valid_acc": list(self.valid_acc), "test_acc": list(self.test_acc),
                "time_s": list(self.time_s), "train_loss": list(self.train_loss)}
