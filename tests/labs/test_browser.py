"""Lab 1's learner copy in a real JupyterLab and Chromium: with the solution cells filled
in and every cell run, the checklist widget and the architecture picture render.

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

from tests.labs_support import ROOT, filled, kernel_env

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


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
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_lab01_checklist_and_picture_render_in_jupyterlab(jupyterlab) -> None:
    from playwright.sync_api import sync_playwright

    url, token = jupyterlab
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/lab/tree/lab01_fanout.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
                timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            try:
                page.wait_for_selector(".eventlab-checklist", timeout=90_000)
                # the last check cell has run when the quiz widget appears
                page.wait_for_selector("text=Question 1/3", timeout=90_000)
                page.wait_for_selector(".jp-RenderedMermaid figure img", state="attached",
                                       timeout=60_000)
            finally:
                page.screenshot(path=str(artifacts / "lab01-jupyterlab.png"))
            texts = page.locator(".eventlab-checklist").all_text_contents()
            assert any("SNS topic video-uploads" in t and "4 of 4 points" in t for t in texts), texts
            assert page.locator(".eventlab-check-pass").count() >= 10
            assert page.locator(".eventlab-check-fail").count() == 0, texts
            pictures = page.locator(".jp-RenderedMermaid figure img")
            svg = unquote(pictures.last.get_attribute("src") or "")
            assert svg.startswith("data:image/svg+xml")
            assert "thumbnails (SQS)" in svg and "video-uploads (SNS)" in svg and "msgs" in svg
            picture = pictures.last
            picture.scroll_into_view_if_needed()
            picture.screenshot(path=str(artifacts / "lab01-architecture.png"))
            page.locator(".eventlab-checklist").first.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / "lab01-jupyterlab.png"))
        finally:
            browser.close()
