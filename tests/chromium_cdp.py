"""A minimal headless-Chromium driver over the DevTools protocol (for tests/test_dashboard_browser.py).

Starts Debian's `chromium --headless --remote-debugging-port=0`, reads the port Chromium picked
from DevToolsActivePort, attaches to the page target over a websocket (`websockets`, a Streamlit
dependency) and offers navigate / evaluate / wait_for / click_text / set_file / screenshot. No selenium and
no chromedriver: the one system package the test needs is `chromium`.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 900, timeout: float = 30.0):
        from websockets.sync.client import connect

        self.proc = subprocess.Popen([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                      "--no-first-run", "--remote-debugging-port=0", f"--user-data-dir={profile}",
                                      f"--window-size={width},{height}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._ids = itertools.count(1)
        self._exit = contextlib.ExitStack()
        try:
            port = self._devtools_port(profile / "DevToolsActivePort", timeout)
            url = self._page_url(port, timeout)
            self.ws = self._exit.enter_context(connect(url, max_size=None, open_timeout=timeout, proxy=None))
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            raise

    def _devtools_port(self, path: Path, timeout: float) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            if path.is_file() and path.read_text().strip():
                return int(path.read_text().split()[0])
            time.sleep(0.1)
        raise TimeoutError("chromium wrote no DevToolsActivePort")

    def _page_url(self, port: int, timeout: float) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.1)
        raise TimeoutError("chromium has no page target")

    def call(self, method: str, **params) -> dict:
        ident = next(self._ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == ident:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def navigate(self, url: str, timeout: float = 60.0) -> None:
        """Load `url` and return once the new document (not the one before it) has loaded."""
        self.call("Page.enable")
        self.evaluate("window.__cdp_old_document = true")
        self.call("Page.navigate", url=url)
        self.wait_for("window.__cdp_old_document === undefined && document.readyState === 'complete'", timeout,
                      f"{url} to load")

    def evaluate(self, js: str):
        res = self.call("Runtime.evaluate", expression=js, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"{js}: {res['exceptionDetails'].get('text')}")
        return res.get("result", {}).get("value")

    def text(self) -> str:
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def wait_for(self, js: str, timeout: float = 60.0, what: str = "") -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.evaluate(js):
                return
            time.sleep(0.25)
        raise TimeoutError(f"waited {timeout:.0f} s for {what or js}; page text: {self.text()[:2000]}")

    def wait_for_text(self, needles: list[str], timeout: float = 60.0) -> None:
        cond = " && ".join(f"document.body.innerText.includes({json.dumps(n)})" for n in needles)
        self.wait_for(f"!!document.body && {cond}", timeout, f"text {needles}")

    def click_text(self, selector: str, text: str, within: str = "document", timeout: float = 30.0) -> None:
        """Click the first element matching `selector` whose text is `text` inside the JS node `within`,
        waiting (up to `timeout`) for it to be rendered."""
        js = (f"(() => {{ const root = {within}; if (!root) return false; "
              f"const el = [...root.querySelectorAll({json.dumps(selector)})]"
              f".find(e => e.innerText.trim() === {json.dumps(text)}); "
              "if (!el) return false; el.click(); return true; })()")
        self.wait_for(js, timeout, f"a {selector} reading {text!r} to click")

    def set_file(self, selector: str, path: Path) -> None:
        """Choose `path` in the first file input matching `selector` (as a user's file dialog would)."""
        root = self.call("DOM.getDocument", depth=-1, pierce=True)["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        if not node:
            raise RuntimeError(f"no {selector}")
        self.call("DOM.setFileInputFiles", files=[str(path)], nodeId=node)

    def screenshot(self, path: Path) -> bytes:
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(png)
        return png

    def close(self) -> None:
        try:
            self._exit.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
