"""Run a benchmark script under a fixed PYTHONHASHSEED (set iteration order decides ties in the fits)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def rerun_with(seed: str, script: str) -> int | None:
    """When PYTHONHASHSEED is not `seed`: run `script` again with it, the same arguments, and return its
    exit code. Otherwise None: the caller goes on."""
    if os.environ.get("PYTHONHASHSEED") == seed:
        return None
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run([sys.executable, str(Path(script).resolve()), *sys.argv[1:]], env=env).returncode
