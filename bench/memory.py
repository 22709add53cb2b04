"""A process's own peak resident memory, for the benchmark's jobs (``bench/jobs.py``).

``getrusage``'s ``ru_maxrss`` is not the job's on Linux: the kernel keeps it across
``exec``, so a job started by the driver reports the driver's peak whenever the driver's
was higher (the 200,000-grant run of 2026-12-02 gave 334 MiB for every job: the driver
had just parsed a 38 MB report four times). ``VmHWM`` in ``/proc/self/status`` is the
peak of this process's own address space, which ``exec`` starts afresh. Elsewhere (no
``/proc``) ``ru_maxrss`` is the only figure there is; macOS gives it in bytes."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

STATUS = Path("/proc/self/status")


def peak_rss_mib(status: Path = STATUS) -> float:
    """The peak resident memory of this process since its ``exec``, in MiB."""
    try:
        text = status.read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024
