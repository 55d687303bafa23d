"""Malformed and absurd flags: exit 2 with one line naming the flag, before any work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

WEEK = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "megapod_week.yaml"
SITE = WEEK.parents[1] / "megapod.yaml"


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("simulate", WEEK, "--seed", "-1"), "--seed"),
        (("plan", SITE, "--model", "llama3-8b", "--tokens", "1T", "--deadline", "30"), "--deadline"),
        (
            ("plan", SITE, "--serve", "--model", "llama3-8b", "--tokens-per-s", "1M", "--latency", "50"),
            "--latency",
        ),
        (
            (
                "predict",
                "layouts",
                "--model",
                "llama3-70b",
                "--gpus",
                "64",
                "--global-batch",
                "512",
                "--top",
                "0",
            ),
            "--top",
        ),
        (
            ("predict", "layouts", "--model", "llama3-70b", "--gpus", str(10**23), "--global-batch", "512"),
            "--gpus",
        ),
        (
            (
                "predict",
                "time-to-train",
                "--model",
                "llama3-70b",
                "--gpu",
                "h100-sxm",
                "--gpus",
                "1024",
                "--global-batch",
                "1024",
                "--tokens",
                ".",
            ),
            "--tokens",
        ),
    ],
)
def test_bad_flags_exit_2_with_one_line(
    cli: Callable[..., tuple[int, str, str]], args: tuple[object, ...], flag: str
) -> None:
    code, _out, err = cli(*args)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and flag in lines[0], err
