"""Python processes started together, for what several processes do to shared state at once."""

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Prepended to each process's script: it waits until every process has started, so that their
# work overlaps rather than running one after the other as they come up.
_WAIT_FOR_START = """
import pathlib, sys, time
_go = pathlib.Path(sys.argv[1])
_go.with_name(f"ready-{sys.argv[2]}").touch()
while not _go.exists():
    time.sleep(0.01)
"""


def run_together(script: str, processes: int, folder: Path, timeout: float = 120) -> list[str]:
    """Runs ``script`` in ``processes`` Python processes at once (``sys.argv[2]`` is each one's
    number); returns their outputs, each asserted to have exited 0."""
    go = folder / "go"
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    started = [
        subprocess.Popen(
            [sys.executable, "-c", _WAIT_FOR_START + script, str(go), str(number)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in range(processes)
    ]
    deadline = time.monotonic() + timeout
    while not all((folder / f"ready-{number}").exists() for number in range(processes)):
        for process in started:
            if process.poll() is not None:
                raise AssertionError(f"a process ended early: {process.communicate()[1][-3000:]}")
        assert time.monotonic() < deadline, "the processes did not start"
        time.sleep(0.01)
    go.touch()
    outputs = []
    for process in started:
        stdout, stderr = process.communicate(timeout=timeout)
        assert process.returncode == 0, stderr[-3000:]
        outputs.append(stdout)
    return outputs
