"""The dashboard in headless Chromium, against a real server during a real run."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from evoforge.archive import SQLiteArchive
from evoforge.governance.audit import AuditLog
from evoforge.governance.rundir import RunDir

from dash_helpers import (
    TOKEN,
    artifacts,
    chromium,
    cli,
    start_server,
    stop_process,
    summary,
    wait_for,
    write_experiment,
)  # fmt: skip

pytestmark = pytest.mark.browser


def _size(run: Path) -> int:
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as archive:
        return archive.size()


def test_live_view_updates_approves_and_stops_a_running_run(tmp_path: Path) -> None:
    exp = write_experiment(
        tmp_path / "exp", candidates=2000, promotion='approval = "manual"\nreruns = 0'
    )
    driver_proc = subprocess.Popen(
        [sys.executable, "-m", "evoforge.cli", "run", str(exp)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = browser = None
    try:
        runs = exp / "runs"
        run = wait_for(
            lambda: next(p for p in runs.iterdir() if _size(p) >= 3), timeout=60, what="the run"
        )
        server, base = start_server(run)
        browser = chromium()
        browser.get(f"{base}/run/{run.name}?token={TOKEN}")
        wait_for(
            lambda: browser.execute_script("return document.body.dataset.ready"),
            timeout=20,
            what="live view",
        )
        loaded_at = browser.execute_script("return window.evoforgeLoadedAt")

        def newest() -> int:
            cell = browser.find_element(By.CSS_SELECTOR, "#candidates-table tbody tr td")
            return int(cell.text.lstrip("#"))

        first = newest()
        wait_for(lambda: newest() > first, timeout=30, what="a new candidate without a reload")
        assert browser.execute_script("return window.evoforgeLoadedAt") == loaded_at
        assert browser.find_element(By.ID, "state").text == "running"
        shot = artifacts() / "dashboard-live.png"
        browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000

        cand = int(
            wait_for(
                lambda: browser.find_element(
                    By.CSS_SELECTOR, "button[data-action=approve]"
                ).get_attribute("data-candidate"),
                timeout=60,
                what="a pending approval",
            )
        )
        browser.find_element(By.ID, "reason").send_keys("looks right in the browser")
        browser.find_element(By.ID, "who").send_keys("tester")

        def click_approve() -> bool:
            browser.find_element(
                By.CSS_SELECTOR, f"button[data-action=approve][data-candidate='{cand}']"
            ).click()
            return True

        wait_for(click_approve, timeout=10, what="the approve button")
        wait_for(
            lambda: browser.find_element(By.ID, "champion-id").text == f"#{cand}",
            timeout=40, what="the champion to change",
        )  # fmt: skip
        wait_for(
            lambda: "approval" in browser.find_element(By.ID, "audit-table").text,
            timeout=10,
            what="audit",
        )
        assert "looks right in the browser" in browser.find_element(By.ID, "audit-table").text
        assert browser.find_element(By.ID, "audit-status").text.startswith("verified")
        with SQLiteArchive(run / "archive.sqlite", readonly=True) as archive:
            assert archive.champion().id == cand  # type: ignore[union-attr]
        approvals = [e for e in AuditLog(run / "audit.jsonl").entries() if e.event == "approval"]
        assert approvals[-1].data["who"] == "tester"

        # without the token: refused, and nothing changes
        req = urllib.request.Request(
            f"{base}/api/run/{run.name}/stop",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        assert refused.value.code == 403
        refused.value.close()
        assert RunDir(run).driver_pid() is not None

        stop = browser.find_element(By.ID, "stop")
        stop.click()
        stop.click()  # a second click confirms
        assert driver_proc.wait(timeout=60) == 0
        wait_for(
            lambda: browser.find_element(By.ID, "state").text == "stopped",
            timeout=20,
            what="stopped state",
        )
    finally:
        if browser is not None:
            browser.quit()
        if server is not None:
            stop_process(server)
        if driver_proc.poll() is None:
            driver_proc.terminate()
            driver_proc.wait(timeout=30)


def test_report_opens_offline_in_chromium(tmp_path: Path) -> None:
    exp = write_experiment(
        tmp_path / "exp", candidates=12, promotion='approval = "auto"\nreruns = 0'
    )
    run = Path(summary(cli("run", str(exp)).stdout)["run"])
    cli("report", str(run))
    browser = chromium()
    try:
        browser.get((run / "report.html").as_uri())
        for sid in (
            "summary",
            "score",
            "lineage",
            "champion-diff",
            "flags",
            "approvals",
            "audit",
            "sandbox",
        ):
            assert browser.find_element(By.ID, sid).is_displayed()
        assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
        assert browser.find_element(By.CSS_SELECTOR, "#score svg circle").is_displayed()
        browser.set_window_size(
            1400, int(browser.execute_script("return document.body.scrollHeight"))
        )
        time.sleep(0.2)
        browser.save_screenshot(str(artifacts() / "report.png"))
    finally:
        browser.quit()
