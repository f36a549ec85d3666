"""Lab 1's learner copy in a real JupyterLab and Chromium: with the solution cells filled
in and every cell run, the checklist widget and the architecture picture render, each
check cell keeping the picture of its own moment; with a handler that ignores the SNS
envelope, the picture shows the failing function in red with an edge to its error.

Debian chromium (/usr/bin/chromium) driven by Playwright's Python API; JupyterLab on a
free port with a token made here.  The screenshot goes to test-artifacts/.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

from autograder import golden
from tests.labs_support import ROOT, filled, kernel_env

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOWN = ".jp-NotebookPanel:not(.lm-mod-hidden)"   # the notebook tab in front


class Server(tuple):
    """``url, token = jupyterlab``; ``jupyterlab.workspace`` is the folder it serves."""

    def __new__(cls, pair: tuple[str, str], workspace: Path) -> Server:
        server = super().__new__(cls, pair)
        server.workspace = workspace
        return server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium "
                    "(apt-get install -y chromium; .ci/run does this as root)")
    pytest.importorskip("playwright.sync_api")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    nbformat.write(filled("lab01"), workspace / "lab01_fanout.ipynb")
    broken = next(m for m in golden.MUTATIONS["lab01"] if m.name == "handler-ignores-envelope")
    nbformat.write(golden.mutate(filled("lab01"), broken), workspace / "lab01_broken.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = kernel_env(tmp_path / "data")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
           "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={workspace}", "--LabApp.expose_app_in_browser=True",
           "--ServerApp.disable_check_xsrf=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = (tmp_path / "jupyterlab.log").open("w")
    proc = subprocess.Popen(cmd, cwd=workspace, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError((tmp_path / "jupyterlab.log").read_text()[-3000:]) from None
                time.sleep(0.3)
        yield Server((url, token), workspace)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _run_all(page, url: str, token: str, notebook: str, artifacts: Path) -> None:
    """Open ``notebook``, run every cell and wait until the last check cell has run."""
    page.goto(f"{url}/lab/tree/{notebook}?reset&token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        f" && window.jupyterapp.shell.currentWidget.context.path === '{notebook}'"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
        timeout=60_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    try:
        page.wait_for_selector(f"{SHOWN} .eventlab-checklist", timeout=90_000)
        # the last check cell has run when the quiz widget appears
        page.wait_for_selector(f"{SHOWN} >> text=Question 1/3", timeout=90_000)
        page.wait_for_selector(f"{SHOWN} .jp-RenderedMermaid figure img", state="attached",
                               timeout=60_000)
    finally:
        page.screenshot(path=str(artifacts / notebook.replace(".ipynb", "-jupyterlab.png")))


def _saved_pictures(page, workspace: Path, notebook: str) -> list[str]:
    """Save the open notebook; the Mermaid source of every picture in its outputs, in order."""
    path = workspace / notebook
    before = path.stat().st_mtime_ns
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    deadline = time.time() + 30
    while path.stat().st_mtime_ns == before and time.time() < deadline:
        time.sleep(0.2)
    nb = nbformat.read(path, as_version=4)
    return [str(out["data"]["text/markdown"]) for cell in nb.cells if cell.cell_type == "code"
            for out in cell.get("outputs", [])
            if str(out.get("data", {}).get("text/markdown", "")).startswith("```mermaid")]


def _svg(picture) -> str:
    return unquote(picture.get_attribute("src") or "")


def test_lab01_checklist_and_picture_render_in_jupyterlab(jupyterlab) -> None:
    from playwright.sync_api import sync_playwright

    url, token = jupyterlab
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            _run_all(page, url, token, "lab01_fanout.ipynb", artifacts)
            texts = page.locator(".eventlab-checklist").all_text_contents()
            assert any("SNS topic video-uploads" in t and "4 of 4 points" in t for t in texts), texts
            assert page.locator(".eventlab-check-pass").count() >= 10
            assert page.locator(".eventlab-check-fail").count() == 0, texts
            pictures = page.locator(".jp-RenderedMermaid figure img")
            svg = _svg(pictures.last)
            assert svg.startswith("data:image/svg+xml")
            assert "thumbnails (SQS)" in svg and "video-uploads (SNS)" in svg and "msgs" in svg
            # saved, each check cell keeps the picture of its own moment: step 1's shows
            # the queues and no traffic, the last one the messages that flowed
            saved = _saved_pictures(page, jupyterlab.workspace, "lab01_fanout.ipynb")
            assert len(saved) >= 5
            assert "thumbnails (SQS)" in saved[0] and "msg" not in saved[0] and "Lambda" not in saved[0]
            assert "msgs" in saved[-1] and "(Lambda)" in saved[-1]
            picture = pictures.last
            picture.scroll_into_view_if_needed()
            picture.screenshot(path=str(artifacts / "lab01-architecture.png"))
            page.locator(".eventlab-checklist").first.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / "lab01_fanout-jupyterlab.png"))

            # a handler that ignores the SNS envelope: its function is red, with its error
            _run_all(page, url, token, "lab01_broken.ipynb", artifacts)
            pictures = page.locator(f"{SHOWN} .jp-RenderedMermaid figure img")
            svg = _svg(pictures.last)
            assert "(Lambda)" in svg and "KeyError" in svg and "errors" in svg, svg[-2000:]
            pictures.last.scroll_into_view_if_needed()
            pictures.last.screenshot(path=str(artifacts / "lab01-architecture-error.png"))
        finally:
            browser.close()


def _lab07_until_the_burst() -> nbformat.NotebookNode:
    """Lab 7's learner copy, filled in, up to the burst cell and without the check cells:
    what a learner runs before looking at the chart (the checks' own bursts are not needed)."""
    nb = filled("lab07")
    cells = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if "-check-" not in grade_id:
            cells.append(cell)
        if grade_id == "lab07-burst":
            break
    nb.cells = cells
    return nb


def test_lab07_backlog_chart_renders_in_jupyterlab(jupyterlab) -> None:
    """The burst cell's chart as JupyterLab shows it: both series drawn, the backlog rising
    from empty and draining back to it, the two marks; saved as docs/images/lab07-backlog.png."""
    import base64
    import xml.etree.ElementTree as ET

    from playwright.sync_api import sync_playwright

    from autograder.plot import BOTTOM, HEIGHT
    from tests.labs.test_lab07 import SVG, _points

    url, token = jupyterlab
    notebook = "lab07_backpressure.ipynb"
    nbformat.write(_lab07_until_the_burst(), jupyterlab.workspace / notebook)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"{url}/lab/tree/{notebook}?reset&token={token}")
            page.add_style_tag(content=".Toastify { display: none !important; }")  # the news toast
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                f" && window.jupyterapp.shell.currentWidget.context.path === '{notebook}'"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
                timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            # JupyterLab shows an SVG output as an <img> holding it (or inline, if trusted)
            chart = page.locator(f"{SHOWN} .jp-RenderedSVG img, {SHOWN} svg.eventlab-chart").first
            chart.wait_for(state="visible", timeout=120_000)
            source = chart.get_attribute("src")
            if source:
                header, data = source.split(",", 1)
                svg = base64.b64decode(data).decode() if header.endswith(";base64") else unquote(data)
            else:
                svg = chart.evaluate("e => e.outerHTML")
            root = ET.fromstring(svg)
            assert "eventlab-chart" in root.get("class", "")
            box = chart.bounding_box()
            assert box and box["width"] > 300 and box["height"] > 150      # drawn, not collapsed
            backlog, per_minute = root.findall(f"{SVG}polyline")
            assert [backlog.get("data-label"), per_minute.get("data-label")] == [
                "orders in the queue (visible + in flight)", "CloudWatch, end of each minute"]
            ys = [y for _, y in _points(backlog)]       # pixels: a bigger backlog is higher up
            empty = HEIGHT - BOTTOM
            assert min(ys) < empty - 100 and ys[-1] == empty      # rose, then drained to empty
            assert len(_points(per_minute)) >= 3
            marks = [t.text for t in root.iter(f"{SVG}text")]
            assert {"burst ends", "predicted drain"} <= set(marks)
            assert len(root.findall(f"{SVG}line[@class='mark']")) == 2
            printed = page.locator(f"{SHOWN} .jp-OutputArea-output >> text=/predicted 120 s, measured/")
            assert printed.count() == 1
            chart.scroll_into_view_if_needed()
            images = ROOT / "docs" / "images"
            images.mkdir(parents=True, exist_ok=True)
            chart.screenshot(path=str(images / "lab07-backlog.png"))
        finally:
            browser.close()
