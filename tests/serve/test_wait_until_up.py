"""``wait_until_up``: a server that never answers times out; one that stopped is said at once."""

from __future__ import annotations

import socket
import time

import pytest

from megapod.client import wait_until_up


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_server_that_never_answers_times_out() -> None:
    t = time.monotonic()
    with pytest.raises(TimeoutError, match=r"did not answer within 0\.5 s"):
        wait_until_up(f"http://127.0.0.1:{_closed_port()}", 0.5)
    assert time.monotonic() - t < 5


def test_a_stopped_server_is_said_at_once() -> None:
    with pytest.raises(RuntimeError, match="stopped before it answered"):
        wait_until_up(f"http://127.0.0.1:{_closed_port()}", 60, alive=lambda: False)
