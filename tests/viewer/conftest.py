"""Viewer fixtures: a small run folder, and headless Chromium driven over the DevTools protocol.

The browser client speaks the DevTools protocol over a minimal stdlib WebSocket (RFC 6455
text frames), so the only requirement is a `chromium` (or `chromium-browser`,
`google-chrome`) binary; without one the browser tests skip with that reason. CI installs
Debian's `chromium` package where it has room; nothing is downloaded here.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory) -> Path:
    """A run folder as `openhoi generate` writes it, minus the slow files: 24 frames of both
    hands closing on the laptop (its lid opening), three segments, a plan with two sub-tasks."""
    from openhoi import HOISequence

    num_frames = 24
    ramp = np.linspace(0.0, 1.0, num_frames)[:, None]
    masks = np.zeros((3, 1024), np.float32)
    masks[0, :300], masks[2, 500:800] = 1.0, 1.0
    sequence = HOISequence.from_parameters(
        left_transl=np.array([-0.30, -0.05, 0.10]) + ramp * np.array([0.12, 0.0, -0.02]),
        right_transl=np.array([0.22, -0.05, 0.10]) - ramp * np.array([0.12, 0.0, 0.02]),
        object_angle=np.linspace(0.0, 1.4, num_frames),
        object_name="laptop",
        segment_starts=np.array([0, 10, 14]),
        texts=("open the laptop lid", "", "hold the laptop"),
        affordance=masks,
    )
    folder = tmp_path_factory.mktemp("viewer") / "run"
    folder.mkdir()
    sequence.save(folder / "sequence.npz")
    plan = {
        "instruction": "open the laptop",
        "objects": ["laptop"],
        "subtasks": [
            {"text": "open the laptop lid", "primitive": "open", "hands": "both",
             "affordance": "lid", "frames": [0, 10]},
            {"text": "hold the laptop", "primitive": "hold", "hands": "both",
             "affordance": "grasp", "frames": [14, 24]},
        ],
    }  # fmt: skip
    (folder / "plan.json").write_text(json.dumps(plan))
    return folder


def find_chromium() -> str | None:
    """Path of a Chromium-family browser, or None ($OPENHOI_CHROMIUM overrides)."""
    if os.environ.get("OPENHOI_CHROMIUM"):
        return os.environ["OPENHOI_CHROMIUM"]
    return next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)


class DevTools:
    """One page of a headless Chromium, driven over the DevTools protocol."""

    def __init__(self, binary: str, width: int = 1280, height: int = 800) -> None:
        self.profile = tempfile.mkdtemp(prefix="openhoi-chromium-")
        port_file = Path(self.profile) / "DevToolsActivePort"
        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
             "--use-angle=swiftshader", "--no-first-run", "--no-default-browser-check",
             "--disable-background-networking", "--disable-component-update",
             "--allow-file-access-from-files", f"--window-size={width},{height}",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port within 30 s")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            page = next(t for t in json.load(reply) if t["type"] == "page")
        self.socket = _connect(page["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        """Send one command and wait for its result (events meanwhile go to `events`)."""
        self.next_id += 1
        _send(self.socket, json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(_receive(self.socket))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (promises awaited)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 60.0):
        """Poll `expression` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"{expression!r} still false after {timeout_s} s")

    def screenshot(self) -> np.ndarray:
        """`(H, W, 3)` uint8 RGB picture of the page."""
        import io

        from PIL import Image

        data = self.call("Page.captureScreenshot", format="png")["data"]
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for so far (Network.requestWillBeSent)."""
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def close(self) -> None:
        """Stop the browser and remove its profile."""
        try:
            self.process.terminate()
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.skip(f"no Chromium binary on PATH (looked for {', '.join(BROWSERS)}); "
                    "install Debian's chromium to run the browser tests")  # fmt: skip
    devtools = DevTools(binary)
    try:
        yield devtools
    finally:
        devtools.close()


# --- a minimal WebSocket client (RFC 6455): masked text frames out, any frames in --------


def _connect(url: str) -> socket.socket:
    host_port, path = url.removeprefix("ws://").split("/", 1)
    host, port = host_port.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=60)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
         ).encode()
    )  # fmt: skip
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("DevTools closed the WebSocket handshake")
        reply += chunk
    if b" 101 " not in reply.split(b"\r\n", 1)[0]:
        raise ConnectionError(f"WebSocket handshake refused: {reply[:200]!r}")
    return sock


def _send(sock: socket.socket, text: str) -> None:
    payload = text.encode()
    header = bytes([0x81])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    elif len(payload) < 1 << 16:
        header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(header + mask + masked)


def _exactly(sock: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("DevTools closed the WebSocket")
        data += chunk
    return bytes(data)


def _receive(sock: socket.socket) -> str:
    message = bytearray()
    while True:
        first, second = _exactly(sock, 2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", _exactly(sock, 2))[0]
        elif length == 127:
            length = struct.unpack(">Q", _exactly(sock, 8))[0]
        payload = _exactly(sock, length)
        opcode = first & 0x0F
        if opcode == 0x8:
            raise ConnectionError("DevTools closed the WebSocket")
        if opcode in (0x9, 0xA):  # ping / pong: not used by DevTools
            continue
        message += payload
        if first & 0x80:
            return message.decode()
