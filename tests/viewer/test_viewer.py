"""The viewer page: self-contained, faithful to the run, and drawn by a real browser."""

from __future__ import annotations

import base64
import json
import re
import shutil
import zlib

import numpy as np
import pytest

from openhoi.cli import main
from openhoi.viewer import build_viewer, load_run
from openhoi.viewer.page import THREE_VERSION, scene_payload


def _unpack(packed: dict) -> np.ndarray:
    """What viewer.js `unpack` does, in numpy."""
    raw = zlib.decompress(base64.b64decode(packed["data"]))
    array = np.frombuffer(raw, np.dtype(packed["dtype"]).newbyteorder("<")).reshape(packed["shape"])
    if packed.get("delta"):
        steps = np.cumsum(array.astype(np.int64), axis=0).astype(np.int16).astype(np.float64)
        array = (steps + 32500) * packed["step"] + np.asarray(packed["offset"])
    return array


@pytest.fixture(scope="module")
def page(run_folder, tmp_path_factory):
    """viewer.html of the run folder (physics figures and contact heat included)."""
    return build_viewer([run_folder], tmp_path_factory.mktemp("page") / "viewer.html")


def test_payload_round_trips_the_scene(run_folder):
    scene = load_run(run_folder)
    payload = scene_payload(scene)
    hands = _unpack(payload["hands"]["vertices"])
    assert hands.shape == scene.hand_vertices.shape
    # int16 over the scene's extent: well under 0.1 mm from the sequence's vertices.
    assert np.abs(hands - scene.hand_vertices).max() < 1e-4
    np.testing.assert_array_equal(_unpack(payload["partTransforms"]), scene.part_transforms)
    spans = payload["subtasks"]
    assert [s["text"] for s in spans] == ["open the laptop lid", "", "hold the laptop"]
    assert spans[0]["primitive"] == "open" and spans[1]["primitive"] == ""
    assert _unpack(payload["masks"]).shape == (3, 1024)
    assert payload["statics"] == []  # no meshes.npz in this run


def test_static_objects_come_from_meshes_npz(run_folder, tmp_path):
    from openhoi import HOISequence
    from openhoi.export import export_sequence
    from openhoi.objects import load_object

    run = shutil.copytree(run_folder, tmp_path / "run")
    pose = np.eye(4)
    pose[:3, 3] = (0.45, 0.0, 0.0)
    cup = load_object("cup")
    sequence = HOISequence.load(run / "sequence.npz")
    export_sequence(sequence, run, "meshes", static_objects=[(cup, pose)])
    scene = load_run(run)
    (vertices,) = scene.static_vertices
    np.testing.assert_allclose(vertices, np.asarray(cup.mesh.vertices) + pose[:3, 3], atol=1e-6)
    (static,) = scene_payload(scene)["statics"]
    assert _unpack(static["faces"]).shape == np.asarray(cup.mesh.faces).shape


def test_page_is_self_contained(page):
    html = page.read_text(encoding="utf-8")
    assert page.name == "viewer.html" and f"r{THREE_VERSION}" in html
    # No element loads anything: no src/href attributes, no CDN, no import of a URL.
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=""", html)
    assert "unpkg.com" not in html and "cdn.jsdelivr" not in html
    assert len(html) < 3_000_000
    assert '"figures":{"penetration_mm"' in html and '"contact":{"dtype":"int8"' in html


def test_view_html_only_writes_next_to_the_run_and_compares(run_folder, tmp_path, capsys):
    run = shutil.copytree(run_folder, tmp_path / "run")
    with pytest.raises(SystemExit) as exit_info:
        main(["view", str(run), "--html-only"])
    assert exit_info.value.code in (0, None)
    assert (run / "viewer.html").is_file()
    assert str(run / "viewer.html") in capsys.readouterr().out.replace("\n", "")
    other = shutil.copytree(run_folder, tmp_path / "other")
    with pytest.raises(SystemExit) as exit_info:
        main(["view", str(run), "--compare", str(other), "--html-only"])
    assert exit_info.value.code in (0, None)
    assert '"name":"other"' in (run / "compare.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("make", ["missing", "empty", "file"])
def test_view_bad_folder_is_one_line_and_exit_2(tmp_path, capsys, make):
    target = tmp_path / "run"
    if make == "empty":
        target.mkdir()
    elif make == "file":
        target.write_text("not a folder")
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(SystemExit) as exit_info:
        main(["view", str(target), "--html-only"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "openhoi generate --out" in err
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


def _drawn(picture: np.ndarray) -> tuple[int, int]:
    """(skin pixels, object pixels) in the 3D view (left of the side panel, above the
    controls)."""
    view = picture[: picture.shape[0] * 2 // 3, : picture.shape[1] - 320].astype(int)
    r, g, b = view[..., 0], view[..., 1], view[..., 2]
    skin = (r > 120) & (r - b > 45) & (r > g) & (g > b)
    bluish = (b > r + 20) & (b > 90)
    return int(skin.sum()), int(bluish.sum())


def _open(browser, page) -> None:
    browser.call("Network.enable")
    browser.call("Page.enable")
    browser.call("Page.navigate", url=page.resolve().as_uri())
    browser.wait_for("document.body && document.body.dataset.ready === '1'", timeout_s=90)
    # Two animation frames after the first draw, so the compositor has the picture.
    browser.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert browser.evaluate("document.body.dataset.error || ''") == ""


def test_browser_draws_scrubs_and_stays_offline(browser, page):
    _open(browser, page)
    first = browser.screenshot()
    skin, bluish = _drawn(first)
    assert skin > 400 and bluish > 400, (skin, bluish)
    assert browser.evaluate("window.openhoiViewer.setFrame(20)") == [20]
    browser.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    later = browser.screenshot()
    changed = np.abs(later.astype(int) - first.astype(int)).sum(-1) > 30
    assert changed[: first.shape[0] * 2 // 3, : first.shape[1] - 320].mean() > 0.002
    # Toggling both hands off removes the skin pixels.
    browser.evaluate("window.openhoiViewer.toggle('leftHand', false)")
    browser.evaluate("window.openhoiViewer.toggle('rightHand', false)")
    browser.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert _drawn(browser.screenshot())[0] < skin / 10
    urls = browser.requested_urls()
    assert urls and all(url.startswith(("file:", "data:", "blob:")) for url in urls), urls


def test_browser_compare_plays_two_runs_in_sync(browser, run_folder, tmp_path):
    other = shutil.copytree(run_folder, tmp_path / "other")
    compare = build_viewer([run_folder, other], tmp_path / "compare.html", use_physics=False)
    _open(browser, compare)
    assert browser.evaluate("document.querySelectorAll('.view canvas').length") == 2
    assert browser.evaluate("window.openhoiViewer.setFrame(12)") == [12, 12]
    assert all(url.startswith(("file:", "data:", "blob:")) for url in browser.requested_urls())


def test_run_without_object_has_hands_only(tmp_path):
    from openhoi import HOISequence

    run = tmp_path / "run"
    run.mkdir()
    HOISequence.from_parameters(
        right_transl=np.linspace([0.0, 0.0, 0.1], [0.1, 0.0, 0.1], 5),
        active_hands=np.tile([False, True], (5, 1)),
    ).save(run / "sequence.npz")
    page = build_viewer([run])
    assert page == run / "viewer.html"
    (payload,) = json.loads(re.search(r'id="scenes">(.*?)</script>', page.read_text()).group(1))
    assert payload["parts"] == [] and payload["figures"] is None and payload["contact"] is None
    assert payload["masks"] is None and payload["numFrames"] == 5
