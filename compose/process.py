"""Background service processes tracked by pid files: start detached, probe, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

from .exceptions import InfraError


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in `pid_file`, or None when there is none."""
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_alive(pid: int | None) -> bool:
    """Whether `pid` names a running process that is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state != "Z"


def start_detached(args: list[str], log_file: Path, pid_file: Path, cwd: Path) -> int:
    """Start `args` in its own session, output to `log_file`, and record its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(
            args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def stop(pid_file: Path, name: str, timeout: float = 30.0) -> bool:
    """Stop the process in `pid_file` (SIGTERM, then SIGKILL); True when one was running."""
    pid = read_pid(pid_file)
    running = is_alive(pid)
    if running:
        _signal_group(pid, signal.SIGTERM)
        if not wait_until(lambda: not is_alive(pid), timeout):
            _signal_group(pid, signal.SIGKILL)
            if not wait_until(lambda: not is_alive(pid), 10):
                raise InfraError(f"{name} (pid {pid}) did not stop after SIGKILL")
    pid_file.unlink(missing_ok=True)
    return running


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a text file, or '' when it does not exist. Reads from the
    end, a block at a time: a broker's log runs to a million lines."""
    try:
        with open(path, "rb") as f:
            end = f.seek(0, 2)
            start, data = end, b""
            while start > 0 and data.count(b"\n") <= lines:
                start = max(0, start - 65_536)
                f.seek(start)
                data = f.read(end - start)
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])
