"""The benchmark's jobs report their own peak memory, not the driver's (bench.memory)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.memory import peak_rss_mib

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="VmHWM is Linux's (/proc)"
)


def test_a_job_started_by_a_process_that_used_more_memory_reports_its_own_peak():
    # The parent holds 300 MiB, then becomes the job by exec, as bench/run starts
    # bench/jobs.py: ru_maxrss would still say 300 MiB or more.
    parent = textwrap.dedent(
        f"""
        import os, sys
        ballast = bytearray(300 * 1024 * 1024)
        for i in range(0, len(ballast), 4096):
            ballast[i] = 1
        os.execv(sys.executable, [sys.executable, "-c",
            "import sys; sys.path.insert(0, {str(ROOT)!r}); "
            "from bench.memory import peak_rss_mib; print(peak_rss_mib())"])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", parent], capture_output=True, text=True, check=True, timeout=60
    )
    assert float(out.stdout) < 100


def test_the_peak_is_read_from_the_status_file_in_mib(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmPeak:\t  900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t 1 kB\n")
    assert peak_rss_mib(status) == 200.0


def test_this_process_peak_is_at_least_what_it_holds_now():
    held = bytearray(64 * 1024 * 1024)
    for i in range(0, len(held), 4096):
        held[i] = 1
    assert peak_rss_mib() >= 64
