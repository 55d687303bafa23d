"""Hostile input the file edge must survive: alias bombs, duplicate keys, deep nesting,
paths that are not regular files, and non-finite numbers. Each is a SpecError naming the
field or line, and through the CLI exit code 2 with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import EXAMPLES, REPO

from megapod.errors import SpecError
from megapod.spec import Site, load_site, parse_document
from megapod.spec.safe_yaml import MAX_DEPTH
from megapod.spec.scenario import load_scenario
from megapod.spec.training_case import read_cases
from megapod.traces import read_trace

Cli = Callable[..., tuple[int, str, str]]

SITE_TEXT = (EXAMPLES / "megapod.yaml").read_text()
SCENARIO_TEXT = (
    (EXAMPLES / "scenarios" / "megapod_week.yaml")
    .read_text()
    .replace("site: ../megapod.yaml", f"site: {EXAMPLES / 'megapod.yaml'}")
)

#: The classic "billion laughs": about 600 bytes that expand to 9^9 (387 million) strings.
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def deep_yaml(levels: int) -> str:
    return "a: " + "[" * levels + "]" * levels + "\n"


def deep_toml(levels: int) -> str:
    return "a = " + "[" * levels + "]" * levels + "\n"


# --- alias bombs --------------------------------------------------------------------------


def test_alias_bomb_is_refused() -> None:
    assert len(BOMB) < 1000
    with pytest.raises(SpecError, match="alias bomb"):
        parse_document(BOMB.encode(), name="bomb.yaml")


def test_alias_bomb_in_a_case_file_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, "cases:\n  - " + BOMB.replace("\n", "\n    ").rstrip() + "\n", "cases.yaml")
    with pytest.raises(SpecError, match="alias bomb"):
        read_cases(p)


def test_an_alias_that_contains_itself_is_refused() -> None:
    with pytest.raises(SpecError, match=r"alias \*a refers to the node that contains it"):
        parse_document(b"a: &a [1, *a]\n")


def test_a_spec_with_a_few_anchors_still_loads(tmp_path: Path) -> None:
    # the rack is written once and reused: an alias and a merge key that overrides a field
    text = SITE_TEXT.replace("      - name: nvl72\n", "      - &rack\n        name: nvl72\n")
    text = text.replace(
        "        cooling_capacity_w: 140 kW\n",
        "        cooling_capacity_w: 140 kW\n      - <<: *rack\n        name: nvl72-b\n        count: 2\n",
    )
    site = load_site(write(tmp_path, text))
    assert isinstance(site, Site)
    racks = site.pods[0].racks
    assert [(r.name, r.count) for r in racks] == [("nvl72", 8), ("nvl72-b", 2)]


def test_many_small_aliases_are_fine() -> None:
    text = "base: &b {x: 1, y: 2}\nitems: [" + ", ".join(["*b"] * 1000) + "]\n"
    doc = parse_document(text.encode())
    assert len(doc["items"]) == 1000


# --- duplicate keys -----------------------------------------------------------------------


def test_duplicate_top_level_key_names_the_key_and_line(tmp_path: Path) -> None:
    p = write(tmp_path, SITE_TEXT + "name: other\n")
    last = len(SITE_TEXT.splitlines()) + 1
    first = next(i for i, line in enumerate(SITE_TEXT.splitlines(), 1) if line.startswith("name:"))
    with pytest.raises(SpecError, match=rf"duplicate key 'name' \(first at line {first}\) at line {last}\b"):
        load_site(p)


def test_duplicate_nested_key_is_refused(tmp_path: Path) -> None:
    text = SITE_TEXT.replace("        units: 1\n", "        units: 1\n        units: 4\n")
    with pytest.raises(SpecError, match="duplicate key 'units'"):
        load_site(write(tmp_path, text))


def test_a_merge_key_may_be_overridden_without_a_duplicate() -> None:
    doc = parse_document(b"base: &b {x: 1}\nitem: {<<: *b, x: 2}\n")
    assert doc["item"] == {"x": 2}


def test_duplicate_key_in_toml_is_refused() -> None:
    with pytest.raises(SpecError, match="malformed TOML"):
        parse_document(b'name = "a"\nname = "b"\n', fmt="toml")


# --- deep nesting -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_very_deep_nesting_is_refused(fmt: str) -> None:
    text = deep_toml(100_000) if fmt == "toml" else deep_yaml(100_000)
    with pytest.raises(SpecError, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse_document(text.encode(), fmt=fmt)


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_nesting_just_past_the_limit_is_refused_and_at_the_limit_parses(fmt: str) -> None:
    make = deep_toml if fmt == "toml" else deep_yaml
    # the top-level mapping is one level, so MAX_DEPTH - 1 lists fit
    assert parse_document(make(MAX_DEPTH - 1).encode(), fmt=fmt)["a"] is not None
    with pytest.raises(SpecError, match="nested deeper"):
        parse_document(make(MAX_DEPTH + 1).encode(), fmt=fmt)


def test_deep_toml_site_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="nested deeper"):
        load_site(write(tmp_path, deep_toml(100_000), "site.toml"))


def test_deep_case_file_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, "- " + "[" * 100_000 + "]" * 100_000 + "\n", "cases.yaml")
    with pytest.raises(SpecError, match="nested deeper"):
        read_cases(p)


# --- paths that are not regular files -----------------------------------------------------


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_is_refused_before_reading() -> None:
    with pytest.raises(SpecError, match="is a character device, not a spec file"):
        load_site("/dev/zero")
    with pytest.raises(SpecError, match="is a character device, not a case file"):
        read_cases("/dev/zero")
    with pytest.raises(SpecError, match="is a character device, not a trace CSV"):
        read_trace("/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "site.yaml"
    os.mkfifo(fifo)
    # in a child process, so that a loader that blocks fails the test instead of hanging it
    code = (
        "import sys\nfrom megapod.errors import SpecError\nfrom megapod.spec import load_site\n"
        "try:\n    load_site(sys.argv[1])\nexcept SpecError as exc:\n    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=60, check=True
    )
    assert "is a FIFO (named pipe), not a spec file" in done.stdout


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is a directory"):
        read_trace(tmp_path)


def test_a_trace_error_never_shows_the_file_content(tmp_path: Path) -> None:
    secret = "root:x:0:0:hunter2-secret:/root:/bin/bash"
    p = write(tmp_path, f"{secret}\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n", "passwd")
    with pytest.raises(SpecError) as info:
        read_trace(p)
    assert "missing column" in info.value.problem
    assert "hunter2" not in info.value.problem and "root" not in info.value.problem


def test_a_binary_trace_error_never_shows_the_file_content(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(b"job_id,submit_time_s\n\xff\xfehunter2\n")
    with pytest.raises(SpecError) as info:
        read_trace(p)
    assert "hunter2" not in info.value.problem


# --- non-finite numbers -------------------------------------------------------------------

OVERSUB = "pods[0].fabric.scale_out.oversubscription"


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1e400", "'1e400'"])
def test_non_finite_number_in_a_site_names_the_field(tmp_path: Path, value: str) -> None:
    p = write(tmp_path, SITE_TEXT.replace("oversubscription: 1.0", f"oversubscription: {value}"))
    with pytest.raises(SpecError, match="finite number") as info:
        load_site(p)
    assert info.value.path.endswith(OVERSUB)


def test_non_finite_number_in_a_catalog_override_is_refused(tmp_path: Path) -> None:
    text = SITE_TEXT.replace("unit: megapack-2xl-2h", "unit: {catalog: megapack-2xl-2h, footprint_m2: .inf}")
    with pytest.raises(SpecError, match="finite") as info:
        load_site(write(tmp_path, text))
    assert "pods[0].power.battery.unit" in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("arrival_rate_per_s: 0.004", "arrival_rate_per_s: .inf", "workload.synthetic.arrival_rate_per_s"),
        ("weights: [60, 10", "weights: [.nan, 10", "workload.synthetic.gpus.weights[0]"),
        ("median: 3600", "median: 1e400", "workload.synthetic.duration_s.median"),
    ],
)
def test_non_finite_number_in_a_scenario_names_the_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    assert old in SCENARIO_TEXT
    p = write(tmp_path, SCENARIO_TEXT.replace(old, new), "scenario.yaml")
    with pytest.raises(SpecError, match="finite number") as info:
        load_scenario(p)
    assert info.value.path.endswith(field)


def test_the_example_scenario_still_loads() -> None:
    assert load_scenario(EXAMPLES / "scenarios" / "megapod_week.yaml").seed == 1


# --- through the command line -------------------------------------------------------------


def _one_line_exit_2(code: int, err: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("bomb.yaml", BOMB, "alias bomb"),
        ("dup.yaml", SITE_TEXT + "name: other\n", "duplicate key 'name'"),
        ("deep.toml", deep_toml(100_000), "nested deeper"),
        (
            "nan.yaml",
            SITE_TEXT.replace("oversubscription: 1.0", "oversubscription: .nan"),
            f"{OVERSUB}: nan: input should be a finite number",
        ),
    ],
)
def test_validate_reports_hostile_files_in_one_line(
    cli: Cli, tmp_path: Path, name: str, text: str, words: str
) -> None:
    p = write(tmp_path, text, name)
    line = _one_line_exit_2(*cli("validate", p)[::2])
    assert line.startswith(f"error: {p}") and words in line


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_validate_refuses_a_device(cli: Cli) -> None:
    line = _one_line_exit_2(*cli("validate", "/dev/zero")[::2])
    assert "/dev/zero: is a character device" in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_validate_refuses_a_fifo_as_a_process(tmp_path: Path) -> None:
    fifo = tmp_path / "site.yaml"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "megapod", "validate", str(fifo)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    line = _one_line_exit_2(done.returncode, done.stderr)
    assert "is a FIFO (named pipe)" in line
