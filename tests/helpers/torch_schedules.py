"""The learning rates PyTorch's schedulers give: the peer the course's schedules are tested
against (lecture 04's ``utils.lecture_optim`` and exercise 04's graded schedules)."""

from __future__ import annotations

import numpy as np
import pytest


def torch_rates(make_scheduler, steps: int, base_lr: float) -> np.ndarray:
    """The learning rate of updates 0 .. steps - 1 under ``make_scheduler(lr_scheduler,
    optimizer)`` (one ``scheduler.step()`` after each update), shape (steps,)."""
    torch = pytest.importorskip("torch")
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = make_scheduler(torch.optim.lr_scheduler, optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(rates)
