"""prepare_dataset on fixture datasets; object store; instruction templates and rewriters."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pytest

from openhoi.data import episode_object_path, load_episodes, read_index
from openhoi.data.instructions import HTTPRewriter, make_rewriter, subtask_text, verb_info
from openhoi.data.object_store import load_stored_object, save_object
from openhoi.data.prepare import prepare_dataset
from openhoi.data.readers import load_split
from openhoi.errors import InputError, MissingFileError, OpenHOIError
from openhoi.objects import load_object

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixtures_arctic import write_arctic_dataset
from fixtures_grab import write_grab_dataset
from fixtures_h2o import write_h2o_dataset


def test_prepare_grab_writes_loadable_folder_and_resumes(tmp_path):
    fixture = write_grab_dataset(tmp_path / "raw")
    out = tmp_path / "out"
    report = prepare_dataset("grab", fixture.root, out, progress=False)
    assert (report.num_written, report.num_skipped, report.objects) == (1, 0, ("mug",))
    assert not report.uses_real_mano and report.mano_notes
    (episode,) = list(load_episodes(out))
    assert episode.source == "grab" and episode.object == "mug"
    segment = episode.segments[0]
    contact = episode.annotations[0]["contact"]
    assert contact.shape == (segment.num_frames, 2, 21) and contact.dtype == bool
    assert contact[:, 1].any() and not contact[:, 0].any()  # right hand holds the box
    assert segment.affordance.shape == (1, 1024)
    assert 0 < segment.affordance.max() <= 1 and segment.affordance.min() >= 0
    assert episode_object_path(out, "mug") is not None
    stored = load_stored_object(out, "mug")
    assert len(stored.mesh.faces) == 12 and stored.canonical_offset.shape == (3,)
    info = read_index(out)["info"]
    assert info["mano"] == "embedded" and any("betas are zero" in n for n in info["mano_notes"])
    splits = json.loads((out / "splits.json").read_text())["splits"]
    assert [i for ids in splits.values() for i in ids].count(episode.episode_id) == 1
    # A second run resumes: nothing new, no duplicates, splits still list the episode.
    again = prepare_dataset("grab", fixture.root, out, progress=False)
    assert (again.num_written, again.num_skipped) == (0, 1)
    assert len(list(load_episodes(out))) == 1
    assert json.loads((out / "splits.json").read_text())["splits"] == splits


def test_prepared_splits_keep_test_episodes_out_of_training(tmp_path):
    from openhoi.data.prepare import write_prepared_splits

    tags = {f"e{k:02d}": {"object_split": "seen", "subject_split": "train"} for k in range(20)}
    tags["u0"] = {"object_split": "unseen", "subject_split": "train"}
    tags["u1"] = {"object_split": "unseen", "subject_split": "heldout"}
    tags["h0"] = {"object_split": "seen", "subject_split": "heldout"}
    splits = json.loads(write_prepared_splits(tmp_path, tags).read_text())["splits"]
    assert splits["test_unseen_objects"] == ["u0", "u1"]
    assert splits["test_seen"] == ["h0"]
    assert splits["test"] == ["h0", "u0", "u1"]
    assert len(splits["val"]) == 2 and len(splits["train"]) == 18
    assert not set(splits["train"] + splits["val"]) & set(splits["test"])


def test_prepare_arctic_and_h2o(tmp_path):
    arctic = write_arctic_dataset(tmp_path / "arctic")
    report = prepare_dataset(
        "arctic", arctic.root, tmp_path / "a", progress=False, assume_flat_mean=True
    )
    assert report.num_written == 1
    stored = load_stored_object(tmp_path / "a", "box")
    assert stored.articulation is not None and stored.articulation.part == "top"
    np.testing.assert_allclose(stored.articulation.axis, [0, 0, -1])
    (episode,) = list(load_episodes(tmp_path / "a"))
    assert [s.num_frames for s in episode.segments] == [20, 40]
    h2o = write_h2o_dataset(tmp_path / "h2o")
    report = prepare_dataset("h2o", h2o.root, tmp_path / "h", progress=False)
    (episode,) = list(load_episodes(tmp_path / "h"))
    assert episode.annotations[1]["hand_contact"].shape == (20, 2)


def test_prepare_reports_missing_folder(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        prepare_dataset("h2o", tmp_path / "nowhere", tmp_path / "out", progress=False)
    with pytest.raises(InputError, match="known datasets"):
        prepare_dataset("kit", tmp_path, tmp_path / "out", progress=False)


def test_object_store_round_trips_articulated_objects(tmp_path):
    laptop = load_object("laptop")
    save_object(laptop, tmp_path)
    loaded = load_stored_object(tmp_path, "laptop")
    assert loaded.part_names == laptop.part_names
    assert loaded.articulation.part == laptop.articulation.part
    np.testing.assert_allclose(loaded.articulation.axis, laptop.articulation.axis)
    np.testing.assert_allclose(loaded.articulation.origin, laptop.articulation.origin)
    order = np.concatenate([np.sort(p.face_ids) for p in laptop.parts])
    np.testing.assert_allclose(loaded.face_affordance, laptop.face_affordance[order], atol=1e-6)
    angle = 0.7
    np.testing.assert_allclose(
        np.sort(loaded.vertices_at(angle), axis=0),
        np.sort(laptop.vertices_at(angle), axis=0),
        atol=1e-5,
    )


def test_templates_and_verb_table():
    assert verb_info("offhand").primitive == "handover"
    assert verb_info("take out").primitive == "lift"
    assert verb_info("open,").primitive == "open"
    assert (
        subtask_text("takepicture", "camera", "both") == "Take picture the camera with both hands."
    )
    for dataset, count in (("grab", 52), ("arctic", 11), ("h2o", 8)):
        split = load_split(dataset)
        objects = split["seen_objects"] + split["unseen_objects"]
        assert len(objects) == len(set(objects)) == count
        assert len(split["unseen_objects"]) == round(0.2 * count)


class _ChatHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.path == "/v1/chat/completions"
        text = "Rewritten: " + body["messages"][-1]["content"]
        reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply.encode())

    def log_message(self, *args):
        pass


def test_http_rewriter_against_local_server(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _ChatHandler)
    server.timeout = 5
    thread = threading.Thread(target=server.handle_request, daemon=True)  # serves one request
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        rewriter = make_rewriter(url)
        assert isinstance(rewriter, HTTPRewriter)
        assert rewriter.rewrite("Lift the mug.") == "Rewritten: Lift the mug."
    finally:
        thread.join(timeout=10)
        server.server_close()
    with pytest.raises(OpenHOIError, match="cannot reach rewriter endpoint"):
        HTTPRewriter(url, timeout_s=2).rewrite("Lift the mug.")
    with pytest.raises(InputError, match="rewrite-with"):
        make_rewriter(tmp_path / "no-such-model")


def test_hf_rewriter_runs_a_local_causal_lm(tmp_path):
    """A tiny randomly initialised Llama saved to disk loads offline and rewrites text."""
    transformers = pytest.importorskip("transformers")
    from openhoi.data.instructions import HFCausalLMRewriter
    from openhoi.mllm.default_backbone import minilm_path

    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    model = transformers.LlamaForCausalLM(config)
    model.save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    rewriter = make_rewriter(str(tmp_path / "lm"))
    assert isinstance(rewriter, HFCausalLMRewriter)
    text = rewriter.rewrite("Open the box with both hands.")
    assert isinstance(text, str) and text  # random weights: any non-empty line
    assert rewriter.rewrite("Open the box with both hands.") == text  # greedy: deterministic
