from __future__ import annotations

import pytest

from megapod import catalog
from megapod.errors import CatalogError

ALL = [(kind, name) for kind in catalog.KINDS for name in catalog.names(kind)]


@pytest.mark.parametrize(("kind", "name"), ALL)
def test_every_entry_validates_and_cites_a_source(kind: str, name: str) -> None:
    entry = catalog.get(kind, name)
    assert entry.name == name
    assert len(entry.source) > 10


def test_validation_case_gpus_are_known() -> None:
    # SCHEMA.md of the shared validation cases names these GPUs
    for name in ["a100-40gb-sxm", "a100-80gb-sxm", "h100-sxm", "h200", "b200", "gb200", "gb300"]:
        assert catalog.gpu(name).peak("bf16") > 0


def test_h100_datasheet_figures() -> None:
    h100 = catalog.gpu("h100-sxm")
    assert h100.peak("bf16") == pytest.approx(989.4e12)
    assert h100.peak("fp8") == pytest.approx(2 * h100.peak("bf16"), rel=1e-3)
    assert h100.tdp_w == 700
    assert h100.scale_up_bw_bytes_per_s * 2 == pytest.approx(900e9)


def test_estimates_are_marked() -> None:
    assert catalog.get("gpu", "tesla-d1").is_estimate
    assert catalog.get("vehicle", "tesla-ai4").is_estimate
    assert not catalog.gpu("h100-sxm").is_estimate


def test_unknown_name_suggests_the_nearest() -> None:
    with pytest.raises(CatalogError, match="did you mean 'h100-sxm'"):
        catalog.get("gpu", "h100-sxn")


def test_override_is_validated() -> None:
    capped = catalog.resolve("gpu", "h100-sxm", {"tdp_w": "600 W"})
    assert capped.tdp_w == 600
    with pytest.raises(CatalogError, match="tdp_w"):
        catalog.resolve("gpu", "h100-sxm", {"tdp_w": "-5 W"})


def test_duplicate_kind_is_refused() -> None:
    with pytest.raises(CatalogError, match="already registered"):
        catalog.register_kind("gpu", "gpus.yaml", catalog.GpuEntry)


def test_missing_dtype_names_what_exists() -> None:
    with pytest.raises(CatalogError, match="no fp8"):
        catalog.gpu("a100-80gb-sxm").peak("fp8")


def test_publications_and_power_models_cite_sources() -> None:
    from megapod.catalog.gpu_power_model import GpuPowerModelEntry, power_model_for
    from megapod.catalog.gpu_power_model import register as register_power
    from megapod.catalog.publication import publication_year
    from megapod.catalog.publication import register as register_publications

    register_power()
    register_publications()
    for name in catalog.names("publication"):
        entry = catalog.get("publication", name)
        assert len(entry.source) > 10
    assert publication_year("megatron21") is not None and publication_year("megatron21").year == 2021  # type: ignore[union-attr]
    assert publication_year("mlperf30") is None
    fields = [
        f
        for f in GpuPowerModelEntry.model_fields
        if f not in GpuPowerModelEntry.__base__.model_fields  # type: ignore[union-attr]
        and f not in ("errors", "sources")
    ]
    for name in catalog.names("gpu-power-model"):
        entry = power_model_for(name)
        assert set(fields) <= set(entry.sources), name  # every number has its source
        assert set(fields) <= set(entry.errors), name  # and its stated error
    assert power_model_for("dojo").name == "default"


def test_attention_eras_are_keyed_by_plausible_years() -> None:
    with pytest.raises(CatalogError, match="attention_efficiency_until"):
        catalog.resolve("perf-calibration", "hopper", {"attention_efficiency_until": {20230: 0.14}})
