"""Drive the real ``ceremony`` binary in a detached tmux session at 80x24 and read the screen.

Each session runs on its own tmux server (private socket) whose environment is exactly the one given,
so variables such as TEXTUAL_LOG reach the program the way an operator's shell would pass them. The
program is started from a plain shell, so after it exits the pane shows what the terminal was left with
(the alternate screen must be gone) and ``echo`` can report the exit code.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

REPO = Path(__file__).resolve().parents[2]
CEREMONY_BIN = REPO / ".venv" / "bin" / "ceremony"
EXIT_MARK = "__ceremony_exit="


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


class TmuxSession:
    """A shell in a detached 80x24 tmux pane on a private tmux server."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        width: int = 80,
        height: int = 24,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        self.socket = f"ceremony-test-{uuid.uuid4().hex[:12]}"
        self.name = "t"
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PS1": "$ ",
        }
        self.env = {**base, **(env or {})}
        self.width = width
        self.height = height
        self.cwd = str(cwd or os.getcwd())

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=10,
        )

    def start(self) -> None:
        size = ("-x", str(self.width), "-y", str(self.height))
        self._tmux("new-session", "-d", "-s", self.name, "-c", self.cwd, *size, "bash --norc --noprofile")
        self._tmux("set-option", "-t", self.name, "status", "off")
        self._tmux("resize-window", "-t", self.name, "-x", str(self.width), "-y", str(self.height))
        self.wait_for(lambda screen: screen.strip() != "", timeout=5)

    def kill(self) -> None:
        self._tmux("kill-server", check=False)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.kill()

    def send_keys(self, *keys: str) -> None:
        """tmux key names (``Enter``, ``C-c``, ``F1``, ``Escape``) or literal text."""
        for key in keys:
            self._tmux("send-keys", "-t", self.name, key)

    def type_text(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def run_ceremony(self, *args: str) -> None:
        """Start the ceremony binary from the shell; its exit code is echoed when it ends."""
        self.run_command(str(CEREMONY_BIN), *args)

    def run_command(self, *argv: str) -> None:
        """Start any command from the shell (arguments shell-quoted); its exit code is echoed."""
        command = " ".join(shlex.quote(arg) for arg in argv)
        self.type_text(f"{command}; echo {EXIT_MARK}$?")
        self.send_keys("Enter")

    def program_pids(self) -> list[int]:
        """Process ids of what the pane's shell is running (the ceremony binary while it runs)."""
        shell = self._tmux("display-message", "-p", "-t", self.name, "#{pane_pid}").stdout.strip()
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", shell], capture_output=True, text=True, check=False, timeout=5
        ).stdout
        return [int(pid) for pid in out.split()]

    def capture(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name).stdout

    def size(self) -> tuple[int, int]:
        out = self._tmux("display-message", "-p", "-t", self.name, "#{pane_width} #{pane_height}").stdout
        width, height = out.split()
        return int(width), int(height)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 30.0) -> str:
        """Poll the pane until ``predicate(screen)`` holds; return that screen (or fail with the last one)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.capture()
            if predicate(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout}s; screen was:\n{screen}")

    def wait_for_text(self, text: str, timeout: float = 30.0) -> str:
        return self.wait_for(lambda screen: text in screen, timeout)

    def wait_for_exit(self, timeout: float = 10.0) -> tuple[int, str]:
        """Wait for the program to end; returns (exit code, screen)."""
        screen = self.wait_for(lambda s: f"{EXIT_MARK}" in s.replace(f"echo {EXIT_MARK}", ""), timeout)
        for line in screen.splitlines():
            if line.startswith(EXIT_MARK):
                return int(line[len(EXIT_MARK) :].strip()), screen
        raise AssertionError(f"no exit code on screen:\n{screen}")
