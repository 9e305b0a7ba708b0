"""Tests run torch on one thread: their tensors are small, and on a busy 2-core box the
thread pool's spin-waiting made tiny models ~50x slower than one thread."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
