"""CPU time and memory of other processes, read from /proc (Linux): the worker's, the broker's."""

from __future__ import annotations

import os
import subprocess

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (all its threads) so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def listener_pid(port: int) -> int | None:
    """PID of the process listening on TCP ``port`` on this machine (the broker), if visible."""
    try:
        out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    marker = "pid="
    i = out.find(marker)
    if i < 0:
        return None
    digits = out[i + len(marker):].split(",", 1)[0]
    return int(digits) if digits.isdigit() else None


class CpuMeter:
    """CPU seconds a process spent between ``start()`` and ``stop()`` (None when it cannot be read)."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self._start: float | None = None
        self.seconds: float | None = None

    def start(self) -> None:
        self._start = cpu_s(self.pid) if self.pid else None

    def stop(self) -> float | None:
        if self.pid and self._start is not None:
            self.seconds = cpu_s(self.pid) - self._start
        return self.seconds
