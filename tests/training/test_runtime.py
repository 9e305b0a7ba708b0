"""Runtime: accelerate when installed, plain torch without it (same interface)."""

from __future__ import annotations

import sys

import torch

from openhoi.training import Runtime


def _step(runtime: Runtime) -> torch.Tensor:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1).to(runtime.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model, optimizer = runtime.prepare(model, optimizer)
    with runtime.autocast():
        loss = model(torch.ones(2, 3, device=runtime.device)).pow(2).sum()
    runtime.backward(loss)
    runtime.clip(model, 0.5)
    optimizer.step()
    runtime.wait()
    return runtime.unwrap(model).weight.detach().cpu()


def test_without_accelerate_it_falls_back_to_one_plain_process(monkeypatch):
    monkeypatch.setitem(sys.modules, "accelerate", None)  # makes `import accelerate` fail
    runtime = Runtime(device="cpu", mixed_precision="bf16")
    assert runtime.accelerator is None and runtime.is_main and runtime.num_processes == 1
    assert runtime.device == torch.device("cpu") and runtime.mixed_precision == "no"
    assert runtime.scaler_state() is None
    value = torch.tensor(2.0)
    assert runtime.mean(value) is value
    plain = _step(runtime)
    # The same step through accelerate (when installed) or with it switched off agrees.
    assert torch.allclose(_step(Runtime(device="cpu", use_accelerate=False)), plain)
    monkeypatch.delitem(sys.modules, "accelerate")
    assert torch.allclose(_step(Runtime(mixed_precision="no")), plain)


def test_clip_is_off_at_zero():
    runtime = Runtime(device="cpu", use_accelerate=False)
    weight = torch.nn.Parameter(torch.ones(2))
    weight.grad = torch.full((2,), 10.0)
    runtime.clip([weight], 0.0)
    assert torch.equal(weight.grad, torch.full((2,), 10.0))
    runtime.clip([weight], 1.0)
    assert torch.linalg.vector_norm(weight.grad) <= 1.0 + 1e-6
