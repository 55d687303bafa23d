"""Random documents fed to the loader: it returns a Site or raises SpecError, nothing else."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import EXAMPLES

from megapod.errors import MegapodError
from megapod.spec import Site, parse_document, site_from_dict

BASE = yaml.safe_load((EXAMPLES / "megapod.yaml").read_text())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["35 kW", "3 MWh", "400 Gb/s", "h100-sxm", "-1 W", "1e99 W"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, (*prefix, i))
    return out


ALL_PATHS = paths(BASE)


def check(doc: Any) -> None:
    try:
        result = site_from_dict(doc) if isinstance(doc, dict) else None
    except MegapodError:
        return
    assert result is None or isinstance(result, Site)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(st.text(max_size=10), values, max_size=6))
def test_random_documents(doc: dict[str, Any]) -> None:
    check(doc)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(ALL_PATHS), values)
def test_random_mutations_of_a_valid_site(path: tuple[Any, ...], value: Any) -> None:
    doc = copy.deepcopy(BASE)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    check(doc)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    try:
        doc = parse_document(data)
    except MegapodError:
        return
    check(doc)
