"""`megapod validate` / `describe` / `catalog` through the real entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import EXAMPLES

Cli = Callable[..., tuple[int, str, str]]


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_validate_examples(cli: Cli, example: Path) -> None:
    code, out, _ = cli("validate", example)
    assert code == 0
    assert out.startswith("ok ")


def test_describe_json(cli: Cli) -> None:
    code, out, _ = cli("describe", EXAMPLES / "colossus.yaml", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["gpus"] == 300_032
    assert doc["facility_peak_w"] > doc["it_peak_w"] > 5e8


def test_describe_table(cli: Cli) -> None:
    code, out, _ = cli("describe", EXAMPLES / "megapod.yaml")
    assert code == 0
    assert "1.44 EFLOP/s" in out and "180.2 min" in out


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "is empty"),
        ("name: [x", "malformed YAML"),
        (b"\x00\x00", "binary"),
        ("name: x\nlocaton: {}\n", "unknown key 'locaton'; did you mean 'location'"),
    ],
)
def test_bad_input_gives_exit_2_and_one_line(
    cli: Cli, tmp_path: Path, content: str | bytes, fragment: str
) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_bytes(content if isinstance(content, bytes) else content.encode())
    for command in ("validate", "describe"):
        code, out, err = cli(command, spec)
        assert code == 2
        assert out == ""
        assert len(err.strip().splitlines()) == 1
        assert fragment in err
        assert "Traceback" not in err


def test_physical_error_exit_2(cli: Cli, tmp_path: Path) -> None:
    text = (
        (EXAMPLES / "megapod.yaml")
        .read_text()
        .replace("cooling_capacity_w: 140 kW", "cooling_capacity_w: 120 kW")
    )
    spec = tmp_path / "hot.yaml"
    spec.write_text(text)
    code, _, err = cli("validate", spec)
    assert code == 2
    assert "pods[0].racks[0]: 132 kW of IT load exceeds 120 kW cooling capacity" in err
    code, out, _ = cli("validate", spec, "--json")
    assert code == 2 and json.loads(out)["valid"] is False


def test_missing_file_and_usage(cli: Cli) -> None:
    assert cli("validate", "nope.yaml")[0] == 2
    assert cli("describe")[0] == 2


def test_catalog(cli: Cli) -> None:
    code, out, _ = cli("catalog", "gpu", "--json")
    assert code == 0 and "h100-sxm" in json.loads(out)
    code, _, err = cli("catalog", "gpu", "h100-sxn")
    assert code == 2 and "did you mean 'h100-sxm'" in err
