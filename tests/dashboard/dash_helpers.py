"""Helpers of the dashboard tests: a real dashboard server process and headless Chromium."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The tiny governance experiment (manual approval gives pending promotions quickly).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "governance"))
from gov_helpers import cli, summary, write_experiment

__all__ = ["cli", "summary", "write_experiment"]

TOKEN = "test-token-0123456789abcdef"


def start_server(target: Path, *, token: str = TOKEN) -> tuple[subprocess.Popen[str], str]:
    """Start ``evoforge dashboard`` on a free loopback port; returns the process and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "evoforge.cli", "dashboard", str(target), "--port", "0",
         "--token", token],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("dashboard: http://127.0.0.1:"), line + proc.stderr.read()
    url = line.split()[1]
    return proc, url[: url.index("/", len("http://"))]


def stop_process(proc: subprocess.Popen[str]) -> None:
    """End a process this test started, by its pid."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def chromium() -> Any:
    """Headless Debian Chromium driven through Debian's chromedriver (no download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1400,1600",
        f"--user-data-dir={tempfile.mkdtemp(prefix='evoforge-chromium-')}",
    ):  # fmt: skip
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def wait_for(predicate: Any, *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def artifacts() -> Path:
    path = Path(__file__).resolve().parents[2] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
