"""Where a benchmark's figures come from: the commit and the CPU, for the
headers of the files the bench scripts write."""

import os
import platform
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def commit():
    """The short hash of the checkout's HEAD ("?" outside git)."""
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=ROOT)
    return out.stdout.strip() or "?"


def cpu_name():
    """The CPU's model name from /proc/cpuinfo, else the machine's architecture."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()
