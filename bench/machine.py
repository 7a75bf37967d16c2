"""The machine a benchmark runs on and what else runs there: its CPU and memory, the processes busy
beside the benchmark (they slow every figure), and one process's memory and CPU time from /proc."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

# `make bench`'s own processes: never reported as others competing for the CPU.
OWN_PROCESSES = ("run_all.py", "chromium", "chrome", "playwright/driver")


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "memory_gb": mem_kb / 1024 ** 2,
            "os": platform.platform(terse=True), "python": platform.python_version()}


def busy_processes() -> list[str]:
    """Other processes using the CPU right now ('12.3% command' lines; a training job skews every figure)."""
    out = subprocess.run(["ps", "-eo", "pcpu,args", "--sort=-pcpu"], capture_output=True, text=True)
    busy = []
    for line in out.stdout.splitlines()[1:]:
        pcpu, _, args = line.strip().partition(" ")
        if float(pcpu or 0) >= 20 and "api_bench" not in args and "gunicorn" not in args:
            busy.append(f"{pcpu}% {args[:90]}")
    return busy[:5]


def busiest(lines: list[str]) -> list[str]:
    """'12.3% command' lines seen at several moments -> each other process once, at its highest share."""
    share: dict[str, float] = {}
    for line in lines:
        percent, _, command = line.partition("% ")
        if not any(name in command for name in OWN_PROCESSES):
            share[command] = max(share.get(command, 0.0), float(percent))
    return [f"{p:.0f}% of a core: {command}" for command, p in sorted(share.items(), key=lambda kv: -kv[1])]


def worker_pids(master: int) -> list[int]:
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    return sorted(int(pid) for pid in children)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
