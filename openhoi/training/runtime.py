"""Device, processes and mixed precision: `accelerate` when installed, else plain torch.

`accelerate` is the optional extra `train` (`pip install "openhoi[train]"`). With it, a
run started by `accelerate launch -m openhoi.cli train ...` uses every GPU it was given;
without it, training runs in one process on one device, with the same code.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

__all__ = ["Runtime"]

logger = logging.getLogger(__name__)


class Runtime:
    """Where and how a training run computes (one object per run).

    Args:
        device: torch device of a single-process run ("cpu", "cuda", "cuda:1"); None: CUDA
            when available, else CPU. Ignored under `accelerate`, which gives each process
            its device.
        mixed_precision: "no" | "bf16" | "fp16", applied on GPU only (CPU runs float32);
            None: accelerate's own setting (`accelerate launch --mixed_precision`), else "no".
        use_accelerate: use `accelerate` when it is importable; without it, fall back to
            plain torch (logged).
    """

    def __init__(
        self,
        *,
        device: str | None = None,
        mixed_precision: str | None = "no",
        use_accelerate: bool = True,
    ) -> None:
        self.accelerator = None
        has_cuda = torch.cuda.is_available()
        accelerate = None
        if use_accelerate:
            try:
                import accelerate
            except ImportError:
                logger.info(
                    "accelerate is not installed (pip install 'openhoi[train]'): "
                    "training in one process"
                )
        if accelerate is None:
            self.device = torch.device(device or ("cuda" if has_cuda else "cpu"))
            self.mixed_precision = (mixed_precision or "no") if self.device.type == "cuda" else "no"
            self.num_processes, self.process_index = 1, 0
            return
        if mixed_precision is not None and not has_cuda:
            mixed_precision = "no"
        self.accelerator = accelerate.Accelerator(mixed_precision=mixed_precision, cpu=not has_cuda)
        self.device = self.accelerator.device
        self.mixed_precision = self.accelerator.mixed_precision
        self.num_processes = self.accelerator.num_processes
        self.process_index = self.accelerator.process_index

    @property
    def is_main(self) -> bool:
        """True in the process that writes checkpoints and logs."""
        return self.process_index == 0

    def prepare(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer):
        """(model, optimizer), wrapped for several processes under accelerate."""
        if self.accelerator is None:
            return model, optimizer
        return self.accelerator.prepare(model, optimizer)

    def autocast(self):
        """Mixed-precision autocast on GPU; a no-op context otherwise."""
        if self.device.type != "cuda" or self.mixed_precision == "no":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.mixed_precision == "bf16" else torch.float16
        return torch.autocast("cuda", dtype=dtype)

    def backward(self, loss: Tensor) -> None:
        if self.accelerator is None:
            loss.backward()
        else:
            self.accelerator.backward(loss)

    def clip(self, parameters: torch.nn.Module | Iterable[Tensor], max_norm: float) -> None:
        """Clip the gradient norm of `parameters` (a module's, or a list) to `max_norm`; 0: off."""
        if max_norm <= 0:
            return
        if isinstance(parameters, torch.nn.Module):
            parameters = parameters.parameters()
        if self.accelerator is None:
            torch.nn.utils.clip_grad_norm_(parameters, max_norm)
        else:
            self.accelerator.clip_grad_norm_(parameters, max_norm)

    def unwrap(self, model: torch.nn.Module) -> torch.nn.Module:
        return model if self.accelerator is None else self.accelerator.unwrap_model(model)

    def mean(self, value: Tensor) -> Tensor:
        """The mean of `value` over the processes (itself in a single process)."""
        if self.accelerator is None or self.num_processes == 1:
            return value
        return self.accelerator.reduce(value.detach(), reduction="mean")

    def wait(self) -> None:
        """Barrier: every process reaches this line before any goes on."""
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()

    def scaler_state(self) -> dict[str, Any] | None:
        scaler = getattr(self.accelerator, "scaler", None)
        return None if scaler is None else scaler.state_dict()

    def load_scaler_state(self, state: dict[str, Any] | None) -> None:
        scaler = getattr(self.accelerator, "scaler", None)
        if scaler is not None and state is not None:
            scaler.load_state_dict(state)
