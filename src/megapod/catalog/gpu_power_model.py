"""Board-power model constants per GPU generation (``gpu_power_models.yaml``).

Each entry holds the fractions :func:`megapod.physics.gpu_power.activity_power_w` needs, with
the published source of each and its stated uncertainty (``errors``: ± the same unit as the
field). Keyed by the GPU entry's ``generation`` like the performance calibration.
"""

from __future__ import annotations

from functools import cache

from pydantic import Field

from megapod.catalog.entry import CatalogEntry


class GpuPowerModelEntry(CatalogEntry):
    """How board power follows what the kernels achieve, for one GPU generation.

    Attributes:
        power_limit_tensor_util: achieved tensor-core utilization (FLOP/s over the dense
            peak of the data type) at which a board reaches its power limit (TDP).
        memory_dynamic_share: dynamic power (above ``paused``) of HBM streaming at full
            achievable bandwidth with idle tensor cores, as a share of the TDP span.
        paused_share: a board with a live process, clocks up and no kernels (checkpoint,
            stall, pipeline bubble), as a share of the idle-to-TDP span above idle.
        comm_memory_util: HBM utilization of communication kernels (NCCL copies and
            reductions) while a step waits on exposed communication.
        transient_factor: peak of millisecond excursions above TDP, as a multiple of TDP.
        transient_s: length of such an excursion [s].
        errors: stated uncertainty of each field (± in the field's unit).
        sources: where each field comes from.
    """

    power_limit_tensor_util: float = Field(gt=0, le=1)
    memory_dynamic_share: float = Field(ge=0, le=1)
    paused_share: float = Field(ge=0, le=1)
    comm_memory_util: float = Field(ge=0, le=1)
    transient_factor: float = Field(ge=1, le=3)
    transient_s: float = Field(gt=0, le=1)
    errors: dict[str, float] = Field(default_factory=dict)
    sources: dict[str, str] = Field(default_factory=dict)


def register() -> None:
    """Register the ``gpu-power-model`` kind with the catalog (once)."""
    from megapod import catalog

    if "gpu-power-model" not in catalog.KINDS:
        catalog.register_kind("gpu-power-model", "gpu_power_models.yaml", GpuPowerModelEntry)


@cache
def power_model_for(generation: str) -> GpuPowerModelEntry:
    """The entry of ``generation``, or the ``default`` entry when it has none."""
    from megapod import catalog

    register()
    name = generation if generation in catalog.names("gpu-power-model") else "default"
    return catalog.typed("gpu-power-model", name, GpuPowerModelEntry)
