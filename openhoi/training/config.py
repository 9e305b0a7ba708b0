"""One key grammar for the three trainers, and the old spellings it replaced.

Every training config (`motion.config.TrainConfig`, `mllm.training.PlannerTrainConfig`,
`eval.evaluator_training.EvaluatorTrainConfig`) names the shared settings alike: `data`,
`out`, `resume`, `steps`, `batch_size`, `log_interval`, `checkpoint_interval`,
`warmup_steps`, `quiet`. The keys they had before still work in overrides (and in saved
configs) as deprecated aliases: each use logs a warning naming its replacement.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["DEPRECATED_KEYS", "DeprecatedKey", "compose_train_config", "upgrade_config_dict"]

logger = logging.getLogger(__name__)

ConfigT = TypeVar("ConfigT")


def _negate(value: Any) -> bool:
    return not value


@dataclass(frozen=True)
class DeprecatedKey:
    """An old top-level key: `new` replaces it, its value mapped by `convert` (if any)."""

    old: str
    new: str
    convert: Callable[[Any], Any] | None = None

    def message(self) -> str:
        how = " (negated)" if self.convert is _negate else ""
        return f"config key {self.old!r} is deprecated; use {self.new!r}{how} instead"


DEPRECATED_KEYS: tuple[DeprecatedKey, ...] = (
    DeprecatedKey("out_dir", "out"),
    DeprecatedKey("episodes_dir", "data"),
    DeprecatedKey("num_steps", "steps"),
    DeprecatedKey("log_every", "log_interval"),
    DeprecatedKey("save_every", "checkpoint_interval"),
    DeprecatedKey("use_progress_bar", "quiet", _negate),
)
_BY_OLD = {key.old: key for key in DEPRECATED_KEYS}
# The planner's warm-up as a share of its steps; needs `steps`, so it is applied after
# composing: warmup_steps = max(1, int(steps * warmup_fraction)), the old rule.
WARMUP_FRACTION = "warmup_fraction"


def _split_override(override: str) -> tuple[str, str, str | None]:
    """("+", "key", "value") from "+key=value"; value None without "="."""
    body = override.lstrip("+~")
    prefix = override[: len(override) - len(body)]
    key, sep, value = body.partition("=")
    return prefix, key, value if sep else None


def _rename_overrides(overrides: Sequence[str]) -> tuple[list[str], float | None]:
    """Overrides with old keys renamed (a warning each), and any `warmup_fraction` value."""
    import yaml

    renamed: list[str] = []
    fraction = None
    for override in overrides:
        prefix, key, value = _split_override(override)
        if key == WARMUP_FRACTION and value is not None:
            logger.warning(
                "config key %r is deprecated; use 'warmup_steps' instead (this run uses "
                "warmup_steps = max(1, int(steps * %s)))",
                WARMUP_FRACTION,
                value,
            )
            fraction = float(value)
            continue
        alias = _BY_OLD.get(key)
        if alias is None:
            renamed.append(override)
            continue
        logger.warning(alias.message())
        if value is not None and alias.convert is not None:
            value = yaml.safe_dump(alias.convert(yaml.safe_load(value))).split("\n")[0]
        renamed.append(f"{prefix}{alias.new}" + ("" if value is None else f"={value}"))
    return renamed, fraction


def upgrade_config_dict(data: Mapping[str, Any], *, warn: bool = False) -> dict[str, Any]:
    """A config dict with its old top-level keys renamed (saved configs, keyword dicts).

    A key present under both spellings keeps the new one's value.
    """
    upgraded = dict(data)
    for alias in DEPRECATED_KEYS:
        if alias.old not in upgraded:
            continue
        value = upgraded.pop(alias.old)
        if warn:
            logger.warning(alias.message())
        if alias.new not in upgraded:
            upgraded[alias.new] = alias.convert(value) if alias.convert else value
    return upgraded


def compose_train_config(
    name: str, schema: type[ConfigT], overrides: Sequence[str] = ()
) -> ConfigT:
    """`openhoi.config.compose_config`, after renaming deprecated keys in `overrides`.

    Raises:
        InputError: as `compose_config`; or `warmup_fraction` outside [0, 1).
    """
    from openhoi.config import compose_config
    from openhoi.errors import InputError

    renamed, fraction = _rename_overrides(overrides)
    config = compose_config(name, schema, renamed)
    if fraction is not None:
        if not 0 <= fraction < 1:
            raise InputError(f"warmup_fraction must lie in [0, 1), got {fraction}")
        warmup = max(1, int(config.steps * fraction))
        config = dataclasses.replace(config, warmup_steps=warmup)
    return config
