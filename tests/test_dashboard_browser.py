"""`hundredx dashboard` in real headless Chromium: the server answers on 127.0.0.1, the pages render in a
browser, and the elements a user reads are in the DOM (metric labels, stack names, waterfall factors,
the Pareto front). Screenshots go to tmp (or HUNDREDX_SCREENSHOTS=DIR, how docs/img/ is regenerated:
`HUNDREDX_SCREENSHOTS=docs/img python -m pytest tests/test_dashboard_browser.py`).
Skipped only when no chromium binary is found (.ci/run installs Debian's `chromium`)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
pytest.importorskip("websockets")

from chromium_cdp import Browser, find_chromium  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = find_chromium()


_IMAGES = ("[...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
           ".filter(i => i.complete && i.naturalWidth > 0).length >= {n}")


_LABELS = "[...document.querySelectorAll('[data-testid=\"stMetricLabel\"]')].map(e => e.innerText.trim())"
_IDLE = "document.readyState === 'complete' && !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(proc: subprocess.Popen, port: int, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            log = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"dashboard exited with {proc.returncode}: {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"dashboard did not answer on 127.0.0.1:{port} within {timeout:.0f} s")


def _listen_addresses(port: int) -> set[str]:
    """Local addresses of LISTEN sockets on `port` (Linux /proc/net/tcp{,6})."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.is_file():
            continue
        for line in path.read_text().splitlines()[1:]:
            parts = line.split()
            addr, p = parts[1].split(":")
            if parts[3] == "0A" and int(p, 16) == port:
                found.add(addr)
    return found


def _check_png(png: bytes, min_colors: int = 8) -> None:
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    assert img.size[0] >= 800 and img.size[1] >= 600
    colors = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colors is None or len(colors) >= min_colors, "screenshot is blank"


def _small_png(png: bytes, path: Path) -> None:
    """The screenshot as a docs image: 256-colour palette PNG, kept small."""
    from PIL import Image

    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(path, optimize=True)


@pytest.fixture(scope="module")
def server(search_dir):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "hundredx.cli", "dashboard", "--no-browser", "--port", str(port),
                             "--search", str(search_dir)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _wait_healthy(proc, port)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH (apt-get install -y chromium; .ci/run installs it)")
    b = Browser(CHROMIUM, tmp_path_factory.mktemp("profile"), 1280, 1000)
    yield b
    b.close()


def test_binds_localhost_only(server):
    addrs = _listen_addresses(server)
    if not Path("/proc/net/tcp").is_file():
        pytest.skip("no /proc/net/tcp to read listening sockets from")
    assert addrs == {"0100007F"}, addrs  # 127.0.0.1, and no 0.0.0.0 / :: socket


def test_pages_in_chromium(server, browser, tmp_path):
    shots = Path(os.environ.get("HUNDREDX_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    browser.navigate(f"http://127.0.0.1:{server}/")
    browser.wait_for_text(["TPOT", "TTFT", "tokens/s per user", "Llama-3.1-8B-Instruct on 1x h100-sxm",
                           "Llama-3.1-8B-Instruct fp8 on 1x h200-sxm", "decode step breakdown"], timeout=90)
    browser.wait_for(f"{_LABELS}.filter(t => t === 'TPOT').length === 2", 60, "both stacks' TPOT metric")
    assert browser.evaluate(_LABELS).count("TTFT") == 2
    browser.wait_for("document.querySelectorAll('[data-testid=\"stTable\"] table').length >= 4", 30, "4 tables")
    pages = {"predict": browser.screenshot(shots / "dashboard-predict.png")}

    browser.click_text("[data-testid=\"stRadio\"] label", "Decompose")
    browser.wait_for_text(["total B/A", "model factor", "Waterfall", "model.weights: bf16", "model.kv: bf16",
                           "chip: hgx-h100-8", "Mismatches"],
                          timeout=90)
    browser.wait_for(_IMAGES.format(n=1), 60, "the waterfall chart")
    pages["decompose"] = browser.screenshot(shots / "dashboard-decompose.png")

    browser.click_text("[data-testid=\"stRadio\"] label", "Roofline & memory")
    browser.wait_for_text(["Roofline & memory", "intensity (FLOP/B)", "ffn.gate_up"], timeout=90)
    browser.wait_for(_IMAGES.format(n=2), 60, "the roofline and memory charts")
    pages["roofline"] = browser.screenshot(shots / "dashboard-roofline.png")

    browser.click_text("[data-testid=\"stRadio\"] label", "Search results")
    browser.wait_for_text(["Pareto front", "agg tp=", "SQL over the rows", "feasible of", "Pareto front points"],
                          timeout=90)
    pages["search"] = browser.screenshot(shots / "dashboard-search.png")
    assert "Traceback" not in browser.text()
    for png in pages.values():
        _check_png(png)
    if os.environ.get("HUNDREDX_SCREENSHOTS"):
        for name, png in pages.items():
            _small_png(png, shots / f"dashboard-{name}.png")


def test_upload_a_stack_file_in_chromium(server, browser):
    example = ROOT / "src" / "hundredx" / "examples" / "llama70b-h100-bf16.yaml"
    browser.navigate(f"http://127.0.0.1:{server}/")
    browser.wait_for(f"{_LABELS}.filter(t => t === 'TPOT').length === 2", 90, "both stacks' TPOT metric")
    browser.wait_for(_IDLE, 60, "the script run to finish")
    browser.click_text("[data-testid=\"stRadio\"] label", "upload YAML",  # in stack A's expander
                       within="document.querySelector('[data-testid=\"stSidebar\"] [data-testid=\"stExpander\"]')")
    browser.wait_for("!!document.querySelector('input[type=file]')", 60, "the file uploader")
    browser.wait_for(_IDLE, 60, "the script run to finish")
    browser.set_file("input[type=file]", example)
    browser.wait_for_text(["A: Llama-3.1-70B BF16 on 8x H100 (FA2)", "B: Llama-3.1-8B-Instruct fp8 on 1x h200-sxm"],
                          timeout=90)
    assert "Traceback" not in browser.text()
