"""``megapod serve`` as a real process on loopback: start, wait for health, stop or kill."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx
from tests.serve.conftest import SITE


def free_port() -> int:
    """A TCP port nobody listens on at the moment (on loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServeProcess:
    """``python -m megapod serve SITE --db DB --port P ARGS`` with its stderr in ``folder``."""

    def __init__(self, folder: Path, db_url: str, *args: str, port: int | None = None) -> None:
        self.folder = folder
        self.db_url = db_url
        self.args = args
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None
        self._starts = 0

    @property
    def stderr_path(self) -> Path:
        return self.folder / f"serve-{self.port}-{self._starts}.stderr"

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def start(self, timeout_s: float = 60.0) -> ServeProcess:
        """Start the server and wait until ``/healthz`` says ok."""
        self._starts += 1
        with self.stderr_path.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "megapod", "serve", str(SITE), "--db", self.db_url,
                 "--port", str(self.port), *self.args],
                cwd=self.folder, stdout=subprocess.DEVNULL, stderr=err, text=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.proc.poll() is None, self.stderr()
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).json()["status"] == "ok":
                    return self
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"server did not start within {timeout_s} s"
            time.sleep(0.1)

    def admin_token(self) -> str:
        """The first admin token the server printed on stderr."""
        found = re.search(r"first admin token \(shown once\): (\S+)", self.stderr())
        assert found, "no first admin token on stderr:\n" + self.stderr()
        return found.group(1)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait (SIGKILL after 20 s); returns the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return int(self.proc.returncode)

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is not None:
            self.stop()
