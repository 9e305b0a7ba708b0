"""`openhoi.shard`: parsing `--shard I/N`, strided slices that nest, launcher ranks, devices."""

from __future__ import annotations

import pytest

from openhoi.errors import InputError
from openhoi.shard import Shard, device_for, launcher_rank, parse_shard, run_workers


def test_parse_shard_accepts_i_of_n_and_none_is_the_whole_run():
    assert parse_shard("0/2") == Shard(0, 2)
    assert parse_shard(" 3 / 4 ") == Shard(3, 4)
    assert parse_shard(None) == Shard(0, 1) and parse_shard(None).is_whole
    assert str(Shard(1, 3)) == "1/3"


@pytest.mark.parametrize("text", ["2/2", "a/b", "0/0", "1", "-1/2", "1/2/3", "", "0.5/2"])
def test_malformed_shards_name_the_value(text):
    with pytest.raises(InputError, match="--shard") as error:
        parse_shard(text)
    assert repr(text) in str(error.value)


def test_slices_partition_the_units_and_nest():
    units = list(range(11))
    shards = [Shard(i, 3) for i in range(3)]
    assert sorted(u for s in shards for u in s.select(units)) == units
    assert Shard(1, 3).select(units) == [1, 4, 7, 10] == Shard(1, 3).positions(11)
    # Sub-shard k of K of shard I/N is shard I + N·k of N·K: workers of a shard split it.
    parent = Shard(1, 3)
    parts = [parent.part(k, 2) for k in range(2)]
    assert parts == [Shard(1, 6), Shard(4, 6)]
    assert sorted(u for p in parts for u in p.select(units)) == parent.select(units)
    with pytest.raises(InputError, match="0 <= I < N"):
        Shard(3, 3)


def test_launcher_rank_reads_torchrun_variables(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert launcher_rank() == (0, 1, 0)
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert launcher_rank() == (3, 4, 1)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(InputError, match="RANK must be"):
        launcher_rank()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(InputError, match="integers"):
        launcher_rank()


def test_device_for_gives_each_process_one_gpu(monkeypatch):
    import torch

    assert device_for("cpu", 3) == "cpu" and device_for("cuda:1", 3) == "cuda:1"
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert [device_for("cuda", slot) for slot in range(3)] == ["cuda:0", "cuda:1", "cuda:0"]


def _square_plus_slot(value: int, slot: int) -> tuple[int, int]:
    return value * value, slot


def test_run_workers_in_process_and_in_a_spawn_pool():
    assert run_workers(_square_plus_slot, [(3,)]) == [(9, 0)]
    assert run_workers(_square_plus_slot, [(2,), (5,)], slots=[4, 7]) == [(4, 4), (25, 7)]
