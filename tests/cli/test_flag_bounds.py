"""Malformed and absurd flags: exit 2 with one line naming the flag, before any work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

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


SWEEP = WEEK.parents[1] / "sweeps" / "megapod_sweep.yaml"


@pytest.mark.parametrize(
    ("args", "flag", "unit"),
    [
        (("plan", SITE, "--model", "llama3-8b", "--tokens", "1T", "--max-ramp", "10"), "--max-ramp", "MW/s"),
        (
            ("plan", SITE, "--model", "llama3-8b", "--tokens", "1T", "--max-ramp", "10 MW"),
            "--max-ramp",
            "MW/s",
        ),
        (("sweep", SWEEP, "--serial", "--time-budget", "20"), "--time-budget", "no unit"),
    ],
)
def test_a_dimensioned_flag_without_its_unit_is_refused(
    cli: Callable[..., tuple[int, str, str]], args: tuple[object, ...], flag: str, unit: str
) -> None:
    code, out, err = cli(*args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and flag in lines[0] and unit in lines[0], err
    assert out == ""


def _float_options() -> list[tuple[list[str], str, object]]:
    """Every float-valued option of every command and group: the words that reach it, its
    flag and its callback."""
    import typer.main

    from megapod.cli.main import app

    found: list[tuple[list[str], str, object]] = []

    def walk(command: Any, path: list[str]) -> None:
        for param in command.params:
            if param.opts[0].startswith("--") and param.type_descriptor.annotation is float:
                found.append((path, param.opts[0], param.callback))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_every_float_option_checks_that_it_is_finite() -> None:
    options = _float_options()
    assert {"--scale-out-gbps", "--speed", "--poll", "--years"} <= {flag for _, flag, _ in options}
    unchecked = [f"{' '.join(path)} {flag}" for path, flag, callback in options if callback is None]
    assert unchecked == []


#: Commands whose float flags are tried with a bad value (``serve`` would start a server if one
#: were let through; the test above checks its flags).
TRIED = [(path, flag) for path, flag, _ in _float_options() if path[:1] != ["serve"]]


@pytest.mark.parametrize(("path", "flag"), TRIED, ids=[f"{' '.join(p)} {f}" for p, f in TRIED])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_float_flag_refuses_what_is_not_a_finite_number(
    cli: Callable[..., tuple[int, str, str]], path: list[str], flag: str, value: str
) -> None:
    code, out, err = cli(*path, flag, value)  # the flag comes first: it is checked before the rest
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and flag in lines[0], err
    assert out == ""
