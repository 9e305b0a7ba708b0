"""SynthHOI v3: episodes over procedural object families, one variant drawn per episode.

The objects of a v3 run are a pool of family variants: `variants_per_family` variants
("mug-v000" .. "mug-v023") of each family in `openhoi.objects.families`. The generator
draws episode `i`'s object uniformly from the pool (`generator.episode_choices`), which
is a uniform family and a uniform variant of it; everything else is as in v1 (kinds,
hands, the same physics gate, `quality.check_segment`). Object scale randomisation is
off (`scales=(1.0,)`): each variant already draws its own sizes within real ranges.

Variants are stored with the data. Before any episode is generated, every variant the
run's episodes draw is built and written under `<out>/objects/<variant>/` (parts,
affordances, articulation, and in its description the family, index and parameters),
and workers read them back from there. A variant name alone would also rebuild the same
geometry (`openhoi.objects.load_object("mug-v007")`), but only as long as the family's
code is unchanged; the stored copy keeps a dataset loadable, and its episodes' objects
exact, after a family is edited, and makes the folder self-contained (readers and
`openhoi eval` load objects with `openhoi.data.load_episode_object`, stored copy first).

Splits: unseen means unseen families (`tasks.held_out_families()`, the committed file
`openhoi/data/splits/synthhoi_v3.json`); their episodes go to `test_unseen_objects` and
never to train or val (`generator.episode_split`).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
from pathlib import Path

from openhoi.errors import InputError

__all__ = [
    "DEFAULT_VARIANTS_PER_FAMILY",
    "V3_SCALES",
    "store_variants",
    "synthesize_v3",
    "v3_config",
    "v3_objects",
    "variants_used",
]

logger = logging.getLogger(__name__)

# 24 variants per family (1,128 objects for the 47 families): a 5,000-episode run draws
# nearly all of them, ~4 episodes each and ~100 per family.
DEFAULT_VARIANTS_PER_FAMILY = 24
V3_SCALES = (1.0,)


def v3_objects(
    variants_per_family: int = DEFAULT_VARIANTS_PER_FAMILY,
    families: list[str] | tuple[str, ...] | None = None,
) -> tuple[str, ...]:
    """The variant pool: `variants_per_family` variant names of each family, family-major.

    Args:
        variants_per_family: variants per family, 1..MAX_VARIANTS.
        families: family names (default: all, sorted).

    Raises:
        InputError: an unknown family or a bad count.
    """
    from openhoi.objects.families import MAX_VARIANTS, family, list_families, variant_name

    if not 1 <= int(variants_per_family) <= MAX_VARIANTS:
        raise InputError(
            f"variants_per_family must be in 1..{MAX_VARIANTS}, got {variants_per_family}"
        )
    names = list_families() if families is None else [str(f) for f in families]
    if not names:
        raise InputError("families must name at least one object family")
    for name in names:
        family(name)  # raises with the list of families
    if len(set(names)) != len(names):
        raise InputError(f"families must not repeat, got {names}")
    return tuple(variant_name(f, v) for f in names for v in range(int(variants_per_family)))


def v3_config(config=None):
    """`config` (a `GeneratorConfig`, default one) with scale randomisation off.

    Every other field (quality gate, attempts, hand shapes, the hand model) passes through
    unchanged.
    """
    from openhoi.synth.generator import GeneratorConfig

    config = config or GeneratorConfig()
    return dataclasses.replace(config, scales=V3_SCALES)


def variants_used(seed: int, indices, objects: tuple[str, ...]) -> list[str]:
    """The distinct variants episodes `indices` of a run draw, in first-use order."""
    from openhoi.synth.generator import episode_choices

    seen: dict[str, None] = {}
    for index in indices:
        seen.setdefault(episode_choices(seed, int(index), objects)[0], None)
    return list(seen)


def _store_one(job: tuple[str, str]) -> str:
    from openhoi.data.object_store import save_object
    from openhoi.objects.families import build_variant, parse_variant_name

    folder, name = job
    family_name, index = parse_variant_name(name)
    save_object(build_variant(family_name, index), folder)
    return name


def store_variants(
    folder: str | os.PathLike, names: list[str] | tuple[str, ...], workers: int = 1
) -> list[str]:
    """Build and store under `<folder>/objects/` each variant not stored there yet.

    Returns:
        The names written by this call (stored ones are kept as they are, so a resumed
        run keeps using the geometry its first episodes were made on).
    """
    from openhoi.data.object_store import stored_object_names
    from openhoi.objects.families import parse_variant_name

    bad = [n for n in names if parse_variant_name(n) is None]
    if bad:
        raise InputError(f"not family variant names (FAMILY-vNNN): {bad[:5]}")
    present = set(stored_object_names(folder))
    todo = [(str(folder), n) for n in names if n not in present]
    if workers == 1 or len(todo) <= 1:
        return [_store_one(job) for job in todo]
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(workers, len(todo))) as pool:
        return list(pool.imap(_store_one, todo, chunksize=8))


def synthesize_v3(
    out: str | os.PathLike,
    num_episodes: int,
    seed: int = 0,
    workers: int = 1,
    progress: bool = True,
    *,
    variants_per_family: int = DEFAULT_VARIANTS_PER_FAMILY,
    families: list[str] | tuple[str, ...] | None = None,
    config=None,
    shard=None,
):
    """Generate (or resume) a SynthHOI v3 folder (see the module docstring).

    Args:
        out: output folder.
        num_episodes: episode ids 0..num_episodes-1 (ids already present are skipped).
        seed: run seed.
        workers: processes (variant storing and episodes).
        progress: show a progress bar.
        variants_per_family: size of each family's variant pool.
        families: the families to draw from (default: all).
        config: `GeneratorConfig`; its scales are replaced by `V3_SCALES`.
        shard: an `openhoi.shard.Shard`, passed to `synthesize_dataset` (every slice
            stores the variants of the whole run).

    Returns:
        The `SynthReport` of `synthesize_dataset`.
    """
    from openhoi.synth.generator import synthesize_dataset

    if num_episodes < 1:
        raise InputError(f"num_episodes must be >= 1, got {num_episodes}")
    if workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    objects = v3_objects(variants_per_family, families)
    config = v3_config(config)
    Path(out).mkdir(parents=True, exist_ok=True)
    # The variants of the whole run, also in a slice: `openhoi data merge` copies one
    # slice's objects/ folder, which must then hold every episode's object.
    written = store_variants(out, variants_used(seed, range(num_episodes), objects), workers)
    logger.info("stored %d family variants in %s", len(written), out)
    extra = {} if shard is None else {"shard": shard}
    return synthesize_dataset(
        out,
        num_episodes,
        seed=seed,
        objects=objects,
        workers=workers,
        progress=progress,
        config=config,
        **extra,
    )
