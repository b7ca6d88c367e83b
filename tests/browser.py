#!/usr/bin/env python3
"""Open report.html files in headless Chromium and check what a reader sees.

    python3 tests/browser.py SCREENSHOT_DIR FOLDER...

For each run or sweep FOLDER: load FOLDER/report.html in Chromium (Debian's
package), driven over the DevTools protocol on a pipe (no extra package),
and fail unless
  - the page logs no console message of level error or warning, throws no
    exception and fails no load (the page's content security policy blocks
    every fetch, so a reference to anything outside it shows here);
  - every chart the folder's charts/ holds is on the page once, as an
    inline <svg> the browser laid out at a non-zero size, with text in it;
  - its tables are there.
A full-page screenshot of each is kept in SCREENSHOT_DIR.

Before that, the same checks run on a deliberately broken page (a console
error, a missing image, a thrown exception) and must fail there: a checker
that cannot fail checks nothing.
"""

import base64
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


class Browser:
    def __init__(self):
        exe = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
        if exe is None:
            sys.exit("browser test: no Chromium found (apt-get install chromium)")
        # Chromium reads commands on fd 3 and writes replies on fd 4.
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        hi_r, hi_w = os.dup(to_browser_r), os.dup(from_browser_w)

        def wire():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.profile = tempfile.mkdtemp(prefix="contagion-chromium.")
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--remote-debugging-pipe",
             f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=wire, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in (to_browser_r, from_browser_w, hi_r, hi_w):
            os.close(fd)
        self.next_id = 0
        self.buffer = b""
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, session, timeout=60):
        deadline = time.time() + timeout
        for i, m in enumerate(self.events):
            if m.get("method") == method and m.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method and m.get("sessionId") == session:
                return m
            self.events.append(m)

    def drain(self, seconds):
        """Collect events for a while (late console messages)."""
        self.call("Browser.getVersion")
        end = time.time() + seconds
        while time.time() < end:
            time.sleep(0.05)
            self.call("Browser.getVersion")

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


INSPECT = """JSON.stringify({
  figures: [...document.querySelectorAll('figure')].map(f => {
    const svg = f.querySelector(':scope > svg');
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return {file: f.dataset.file || null, svg: !!svg, width: box.width,
            height: box.height, texts: svg ? svg.querySelectorAll('text').length : 0};
  }),
  tables: document.querySelectorAll('table').length,
  title: document.title,
  scripts: document.scripts.length,
})"""


def problems_of(browser, session):
    """Console errors and warnings, exceptions and failed loads so far."""
    found = []
    for m in browser.events:
        if m.get("sessionId") != session:
            continue
        method, p = m.get("method"), m.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            found.append(f"console.{p['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            found.append("exception: " + p["exceptionDetails"].get("text", ""))
        elif method == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
            found.append(f"{p['entry']['level']}: {p['entry'].get('text', '')} {p['entry'].get('url', '')}")
    return found


def open_page(browser, path, screenshot):
    """Load `path`; return (problems, what the DOM holds)."""
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        browser.call(f"{domain}.enable", session=session)
    browser.call("Emulation.setDeviceMetricsOverride",
                 {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                 session=session)
    browser.call("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
    browser.wait_event("Page.loadEventFired", session)
    browser.drain(0.5)
    dom = json.loads(browser.call("Runtime.evaluate", {"expression": INSPECT, "returnByValue": True},
                                  session=session)["result"]["value"])
    if screenshot is not None:
        metrics = browser.call("Page.getLayoutMetrics", session=session)
        height = int(metrics["cssContentSize"]["height"])
        shot = browser.call("Page.captureScreenshot",
                            {"format": "png", "captureBeyondViewport": True,
                             "clip": {"x": 0, "y": 0, "width": 1200, "height": height, "scale": 1}},
                            session=session)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    problems = problems_of(browser, session)
    browser.call("Target.closeTarget", {"targetId": target})
    return problems, dom


def check_folder(browser, folder, shots):
    report = folder / "report.html"
    if not report.is_file():
        return [f"{report}: missing"]
    shot = shots / f"{folder.name}.png"
    problems, dom = open_page(browser, report, shot)
    errors = [f"{report}: {p}" for p in problems]
    charts = sorted(f"charts/{p.name}" for p in (folder / "charts").glob("*.png"))
    shown = sorted(f["file"] for f in dom["figures"] if f["file"])
    if shown != charts:
        errors.append(f"{report}: charts on the page {shown} are not the folder's {charts}")
    for f in dom["figures"]:
        if not f["svg"] or f["width"] < 100 or f["height"] < 100 or f["texts"] == 0:
            errors.append(f"{report}: {f['file']} is not drawn ({f})")
    if dom["tables"] < 3:
        errors.append(f"{report}: {dom['tables']} tables")
    if dom["scripts"]:
        errors.append(f"{report}: {dom['scripts']} scripts")
    if not shot.is_file() or shot.stat().st_size < 10_000:
        errors.append(f"{report}: no screenshot")
    print(f"browser test: {report}: {len(dom['figures'])} charts, {dom['tables']} tables, "
          f"screenshot {shot}")
    return errors


BROKEN = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>broken</title></head><body>
<table></table><table></table><table></table>
<figure data-file="charts/a.png"><svg width="300" height="200"><text x="10" y="20">a</text></svg></figure>
<img src="missing.png"><script>console.error("boom"); undefined_function();</script></body></html>"""


def self_test(browser):
    """The checks must fail on a broken page."""
    with tempfile.TemporaryDirectory() as d:
        folder = pathlib.Path(d) / "broken"
        (folder / "charts").mkdir(parents=True)
        (folder / "report.html").write_text(BROKEN)
        (folder / "charts" / "a.png").write_bytes(b"")
        (folder / "charts" / "b.png").write_bytes(b"")
        errors = check_folder(browser, folder, pathlib.Path(d))
    text = "\n".join(errors)
    wanted = ["boom", "exception", "missing.png", "charts/b.png", "scripts"]
    missed = [w for w in wanted if w not in text]
    if missed:
        sys.exit(f"browser test: the checker missed {missed} on a broken page:\n{text}")
    print(f"browser test: the checker fails a broken page ({len(errors)} problems found)")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    shots = pathlib.Path(sys.argv[1])
    shots.mkdir(parents=True, exist_ok=True)
    browser = Browser()
    try:
        browser.call("Browser.getVersion")
        self_test(browser)
        errors = []
        for folder in sys.argv[2:]:
            errors += check_folder(browser, pathlib.Path(folder), shots)
    finally:
        browser.close()
    if errors:
        sys.exit("browser test: failed\n" + "\n".join(errors))
    print("browser test: passed")


if __name__ == "__main__":
    main()
