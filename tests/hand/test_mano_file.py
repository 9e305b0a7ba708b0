"""The restricted MANO unpickler: chumpy/scipy → numpy, everything else refused."""

from __future__ import annotations

import os
import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse

from openhoi.errors import InputError, MissingFileError, UnsafeFileError
from openhoi.hand import load_mano_file


def _write(path, data, protocol=2):
    with open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=protocol)
    return path


@pytest.mark.parametrize("protocol", [1, 2])
def test_chumpy_and_sparse_load_without_chumpy(tmp_path, tiny_arrays, protocol):
    fake_ch = types.ModuleType("chumpy.ch")

    class Ch:
        pass

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    fake_ch.Ch = Ch
    fake_pkg = types.ModuleType("chumpy")
    fake_pkg.ch = fake_ch
    data = dict(tiny_arrays)
    for key in ("v_template", "shapedirs", "weights"):
        wrapped = Ch()
        wrapped.x = tiny_arrays[key]
        data[key] = wrapped
    data["J_regressor"] = scipy.sparse.csc_matrix(tiny_arrays["J_regressor"])
    data["bs_style"] = "lbs"
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = fake_pkg, fake_ch
    try:
        path = _write(tmp_path / "MANO_RIGHT.pkl", data, protocol)
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]

    arrays = load_mano_file(path)
    assert "chumpy" not in sys.modules
    for key in ("v_template", "shapedirs", "weights", "J_regressor"):
        assert type(arrays[key]) is np.ndarray
        np.testing.assert_array_equal(arrays[key], tiny_arrays[key])
    assert arrays["f"].dtype == np.int64
    assert arrays["kintree_table"].dtype == np.int64


class _Smuggler:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_os_system_is_refused_and_not_run(tmp_path, tiny_arrays):
    marker = tmp_path / "pwned"
    data = dict(tiny_arrays, v_template=_Smuggler(f"echo pwned > {marker}"))
    path = _write(tmp_path / "evil.pkl", data)
    with pytest.raises(UnsafeFileError, match=r"system") as info:
        load_mano_file(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_builtins_eval_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (eval, ("1 + 1",))

    path = _write(tmp_path / "evil.pkl", {"v_template": Evil()})
    with pytest.raises(UnsafeFileError, match="eval"):
        load_mano_file(path)


def test_missing_garbage_and_truncated_files(tmp_path, tiny_arrays):
    with pytest.raises(MissingFileError, match=r"nope\.pkl"):
        load_mano_file(tmp_path / "nope.pkl")
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"this is not a pickle at all")
    with pytest.raises(InputError, match=r"garbage\.pkl"):
        load_mano_file(garbage)
    full = pickle.dumps(tiny_arrays, protocol=2)
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(full[: len(full) // 2])
    with pytest.raises(InputError, match=r"truncated\.pkl"):
        load_mano_file(truncated)


def test_missing_key_and_bad_shape_name_the_key(tmp_path, tiny_arrays):
    data = dict(tiny_arrays)
    del data["hands_mean"]
    with pytest.raises(InputError, match="hands_mean"):
        load_mano_file(_write(tmp_path / "a.pkl", data))
    data = dict(tiny_arrays, posedirs=np.zeros((48, 3, 10)))
    with pytest.raises(InputError, match=r"posedirs.*135"):
        load_mano_file(_write(tmp_path / "b.pkl", data))
    data = dict(tiny_arrays, weights=np.zeros((47, 16)))
    with pytest.raises(InputError, match="weights"):
        load_mano_file(_write(tmp_path / "c.pkl", data))
