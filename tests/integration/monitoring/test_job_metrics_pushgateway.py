"""Batch jobs push their outcome to a real Prometheus Pushgateway (Debian's package): a failure keeps the
last success's timestamp; `tripcast pipeline run` pushes its job metrics and the quality metrics."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from support.serve_process import free_port
from tripcast.core.ports.job_metrics import JobRun
from tripcast.observability.jobs import PushgatewayJobMetrics, TextfileJobMetrics

PUSHGATEWAY = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
pytestmark = pytest.mark.skipif(PUSHGATEWAY is None, reason="apt-get install -y prometheus-pushgateway (CI does)")


@pytest.fixture()
def pushgateway(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    # Debian's build persists to /var/lib/prometheus by default: this one keeps its metrics in memory only.
    process = subprocess.Popen([PUSHGATEWAY or "", f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def metric_lines(url: str, name: str) -> list[str]:
    return [line for line in httpx.get(f"{url}/metrics").text.splitlines() if line.startswith(name)]


def test_a_failed_run_keeps_the_last_success(pushgateway: str) -> None:
    metrics = PushgatewayJobMetrics(pushgateway)
    success = datetime(2026, 12, 1, tzinfo=UTC)
    metrics.record(JobRun("retrain", {"month": "2021-02"}, True, success, 42.0, {"rows": 1000}))
    metrics.record(JobRun("retrain", {"month": "2021-02"}, False, datetime(2026, 12, 2, tzinfo=UTC), 3.0))
    [succeeded] = metric_lines(pushgateway, "tripcast_job_succeeded")
    assert 'job="tripcast_retrain"' in succeeded and 'month="2021-02"' in succeeded and succeeded.endswith(" 0")
    [last_success] = metric_lines(pushgateway, "tripcast_job_last_success_timestamp_seconds")
    assert float(last_success.split()[-1]) == success.timestamp()
    [duration] = metric_lines(pushgateway, "tripcast_job_duration_seconds")
    assert duration.endswith(" 3")


def test_a_pushgateway_that_is_down_never_fails_the_job(caplog: pytest.LogCaptureFixture) -> None:
    down = PushgatewayJobMetrics(f"http://user:pw@127.0.0.1:{free_port()}", timeout=1)
    down.record(JobRun("pipeline", {"month": "2021-01"}, True, datetime.now(UTC), 1.0))
    assert "could not push pipeline metrics" in caplog.text and "pw@" not in caplog.text


def test_without_a_pushgateway_a_textfile_for_node_exporter(tmp_path: Path) -> None:
    TextfileJobMetrics(tmp_path).record(JobRun("pipeline", {"month": "2021-01"}, True, datetime.now(UTC), 2.5))
    text = (tmp_path / "tripcast_job_pipeline_2021-01.prom").read_text()
    assert "tripcast_job_succeeded 1.0" in text and "tripcast_job_duration_seconds 2.5" in text


@pytest.mark.slow
def test_pipeline_run_pushes_job_and_quality_metrics(pushgateway: str, tmp_path: Path, shared_data_dir: Path) -> None:
    env = {**os.environ, "TRIPCAST_DATA_DIR": str(tmp_path / "data"), "TRIPCAST_PUSHGATEWAY_URL": pushgateway}
    command = [sys.executable, "-c", "from tripcast.cli.app import main; main()", "pipeline", "run",
               "--month", "2021-01", "--source", str(shared_data_dir)]  # fmt: skip
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    succeeded = metric_lines(pushgateway, "tripcast_job_succeeded")
    assert len(succeeded) == 1, succeeded
    assert 'job="tripcast_pipeline"' in succeeded[0] and succeeded[0].endswith(" 1")
    counts = {line.split('kind="')[1].split('"')[0]: float(line.split()[-1])
              for line in metric_lines(pushgateway, "tripcast_job_count")}  # fmt: skip
    assert counts["validate_valid"] > 50_000 and counts["validate_valid"] + counts["validate_quarantined"] > 0
    assert metric_lines(pushgateway, "tripcast_data_rows")  # the quality step pushed too
