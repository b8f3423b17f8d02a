"""The GPU memory watchdog on real cgroups and processes (no GPU here: the readings come from a
reader of this test; ``nvidia-smi`` itself only on a GPU host). The whole path through the scoring
sandbox and the scorer toolkit is in ``tests/scoring/test_gpu_cap.py``."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rdbench.sandbox.gpuwatch import (
    GpuReadError,
    GpuWatchdog,
    NvidiaSmiReader,
    gpu_devices,
    parse_compute_apps,
)
from rdbench.sandbox.limits import DelegatedCgroups, cgroup_mode


def test_nvidia_smi_lines_are_summed_per_pid() -> None:
    text = "1234, 500\n1234, 250\n77, 1024\n\n"  # pid 1234 on two devices
    assert parse_compute_apps(text) == {1234: 750.0, 77: 1024.0}
    assert parse_compute_apps("") == {}
    with pytest.raises(GpuReadError, match="not 'pid, MiB'"):
        parse_compute_apps("1234, [N/A]\n")  # a usage the driver does not give: the cap is unchecked


@pytest.mark.skipif(bool(gpu_devices()), reason="this host has a GPU")
def test_no_gpu_reads_as_none() -> None:
    assert NvidiaSmiReader().read() is None


@pytest.mark.gpu
@pytest.mark.skipif(shutil.which("nvidia-smi") is None or not gpu_devices(), reason="needs nvidia-smi and a GPU")
def test_the_real_reader_reads_the_driver() -> None:
    """The only check of the nvidia-smi reader itself: it parses what the driver really prints."""
    reading = NvidiaSmiReader().read()
    assert reading is not None
    assert all(isinstance(pid, int) and mib >= 0 for pid, mib in reading.items())


@dataclass
class Fixed:
    """Readings of this test: a fixed MiB for every pid it is told of, or a failure."""

    usage: dict[int, float]
    fail: bool = False
    visible: bool = True

    def read(self) -> dict[int, float] | None:
        if self.fail:
            raise GpuReadError("the driver said no")
        return dict(self.usage) if self.visible else None

    def describe(self) -> str:
        return "fixed readings"


@pytest.fixture
def run_cgroup() -> Iterator[tuple[list[Path], subprocess.Popen[bytes]]]:
    if cgroup_mode() == "none":
        pytest.skip("no writable cgroup hierarchy")
    delegated = DelegatedCgroups()
    roots = delegated.create()
    if not roots:
        pytest.skip("cannot delegate cgroups here")
    (roots[0] / "untrusted-test").mkdir()
    procs = roots[0] / "untrusted-test" / "cgroup.procs"
    proc = subprocess.Popen(["/bin/sh", "-c", f"echo $$ > {procs} && exec sleep 30"])
    deadline = time.monotonic() + 5
    while str(proc.pid) not in procs.read_text() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield roots, proc
    finally:
        proc.kill()
        proc.wait()
        delegated.destroy()


def _watch(roots: list[Path], reader: Fixed, tmp_path: Path, polls: int = 2) -> dict[str, object]:
    dog = GpuWatchdog(roots, 100, tmp_path / "reports", reader)
    dog.report_dir.mkdir()
    for _ in range(polls):
        dog.poll()
    return dict(json.loads((dog.report_dir / "untrusted-test.json").read_text()))


def test_under_the_cap_the_run_lives_and_its_peak_is_recorded(run_cgroup: tuple[list[Path], subprocess.Popen[bytes]],
                                                              tmp_path: Path) -> None:
    roots, proc = run_cgroup
    report = _watch(roots, Fixed({proc.pid: 80.0, 1: 5000.0}), tmp_path)  # pid 1 is in no run's cgroup
    assert report["peak_mb"] == 80.0 and report["over_cap"] is False and report["gpu_visible"] is True
    assert proc.poll() is None


def test_over_the_cap_the_whole_cgroup_is_killed(run_cgroup: tuple[list[Path], subprocess.Popen[bytes]],
                                                 tmp_path: Path) -> None:
    roots, proc = run_cgroup
    report = _watch(roots, Fixed({proc.pid: 150.0}), tmp_path)
    assert report["over_cap"] is True and report["peak_mb"] == 150.0
    assert proc.wait(timeout=5) == -9


def test_a_reading_that_fails_kills_the_run_and_says_why(run_cgroup: tuple[list[Path], subprocess.Popen[bytes]],
                                                         tmp_path: Path) -> None:
    roots, proc = run_cgroup
    report = _watch(roots, Fixed({}, fail=True), tmp_path)
    assert report["error"] == "the driver said no"
    assert proc.wait(timeout=5) == -9  # fail closed: an unchecked run does not go on


def test_no_gpu_visible_leaves_the_run_alone_with_no_peak(run_cgroup: tuple[list[Path], subprocess.Popen[bytes]],
                                                          tmp_path: Path) -> None:
    roots, proc = run_cgroup
    report = _watch(roots, Fixed({proc.pid: 500.0}, visible=False), tmp_path)
    assert report["gpu_visible"] is False and report["peak_mb"] is None and report["over_cap"] is False
    assert proc.poll() is None
