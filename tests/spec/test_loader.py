"""Bad input the spec loader must survive, each with a message naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import EXAMPLES

from megapod.errors import SpecError
from megapod.spec import Site, load_site, site_from_dict


def base_doc() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / "megapod.yaml").read_text())


def write(tmp_path: Path, text: str | bytes, name: str = "site.yaml") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_load(example: Path) -> None:
    assert isinstance(load_site(example), Site)


def test_quantities_become_si_floats() -> None:
    site = load_site(EXAMPLES / "megapod.yaml")
    pod = site.pods[0]
    assert pod.power.feed_w == 1.6e6
    assert pod.racks[0].cooling_capacity_w == 140e3
    assert pod.power.ride_through_target_s == 1800
    assert pod.cooling.supply_temp_c == 35  # from the direct-liquid catalog entry


def test_toml_loads_the_same_site(tmp_path: Path) -> None:
    import tomllib  # noqa: F401  (the loader uses it; this test writes TOML by hand)

    toml = """
name = "t"
[location]
climate = "austin-tx"
[grid]
feed_w = "2 MW"
[[pods]]
name = "p"
[[pods.racks]]
server = "gb200-nvl72"
servers = 1
count = 8
cooling_capacity_w = "140 kW"
[pods.fabric]
scale_up = "nvlink5"
[pods.power]
feed_w = "1.6 MW"
[pods.cooling]
plant = "direct-liquid"
capacity_w = "1.25 MW"
"""
    site = load_site(write(tmp_path, toml, "site.toml"))
    assert site.gpus == 576


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "is empty"),
        ("# only a comment\n", "top level must be a mapping"),
        ("name: [unclosed\n", "malformed YAML at line"),
        ("- a\n- b\n", "not a list"),
        (b"\x00\x01\x02binary", "binary file"),
        (b"\xff\xfe\xfa", "not UTF-8"),
    ],
)
def test_unreadable_documents(tmp_path: Path, content: str | bytes, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        load_site(write(tmp_path, content))


def test_malformed_toml(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="malformed TOML"):
        load_site(write(tmp_path, "name = = 1", "s.toml"))


def test_missing_file() -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_site("no/such/file.yaml")


def mutate(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(base_doc())
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (
            ["pods", 0, "racks", 0, "cout"],
            3,
            "pods[0].racks[0].cout: unknown key 'cout'; did you mean 'count'",
        ),
        (["pods", 0, "racks", 0, "server"], "gb200-nvl27", "did you mean 'gb200-nvl72'"),
        (["pods", 0, "power", "feed_w"], "35 kg", "pods[0].power.feed_w: '35 kg': unknown power unit 'kg'"),
        (
            ["pods", 0, "racks", 0, "count"],
            0,
            "pods[0].racks[0].count: 0: input should be greater than or equal to 1",
        ),
        (["pods", 0, "count"], -3, "pods[0].count: -3"),
        (["pods", 0, "power", "battery", "units"], "many", "pods[0].power.battery.units"),
        (["pods", 0, "cooling", "plant"], "immersion", "unknown cooling 'immersion'"),
        (["grid", "feed_w"], "-5 MW", "grid.feed_w"),
    ],
)
def test_field_errors_name_the_path(path: list[Any], value: Any, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        site_from_dict(mutate(path, value))
    assert fragment in str(info.value)


def test_missing_field() -> None:
    doc = base_doc()
    del doc["pods"][0]["cooling"]
    with pytest.raises(SpecError, match=r"pods\[0\].cooling: required, but missing"):
        site_from_dict(doc)


def test_absurd_size_fails_fast() -> None:
    doc = mutate(["pods", 0, "count"], 900_000)
    doc["pods"][0]["racks"][0]["count"] = 900_000
    with pytest.raises(SpecError, match="above the limit of 10,000,000"):
        site_from_dict(doc)


def test_billion_gpus_in_counts_fails_on_the_count() -> None:
    with pytest.raises(SpecError, match="less than or equal to 1,000,000"):
        site_from_dict(mutate(["pods", 0, "count"], 10**9))


def test_site_may_sit_under_a_site_key() -> None:
    assert site_from_dict({"site": base_doc()}).name == "megapod-1"


def test_custom_catalog_override() -> None:
    doc = mutate(
        ["pods", 0, "racks", 0, "server"], {"system": {"catalog": "gb200-nvl72", "max_power_w": "125 kW"}}
    )
    assert site_from_dict(doc).pods[0].racks[0].server.system.max_power_w == 125e3
