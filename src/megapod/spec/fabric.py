"""Network fabric: scale-up domains, scale-out topology, links between pods."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from megapod.quantities import RateBps
from megapod.spec.base import ScaleUpRef, SpecModel, SwitchRef

Topology = Literal["rail-optimized-fat-tree", "fat-tree", "dragonfly", "torus"]


class ScaleOut(SpecModel):
    """The scale-out (back-end compute) network inside a pod."""

    switch: SwitchRef
    topology: Topology = "rail-optimized-fat-tree"
    tiers: int = Field(2, ge=1, le=3)
    oversubscription: float = Field(1.0, ge=1.0, le=64.0, description="down:up bandwidth at leaves")
    leaf_switches: int | None = Field(
        None, ge=1, le=1_000_000, description="leaf switches installed; derived when absent"
    )


class Fabric(SpecModel):
    """A pod's fabric: the scale-up domain of each server and the scale-out network."""

    scale_up: ScaleUpRef
    scale_out: ScaleOut | None = None


class InterPod(SpecModel):
    """Links that join pods into a site."""

    uplink_rate_bps: RateBps = Field(gt=0, description="per pod, toward the site core")
    oversubscription: float = Field(1.0, ge=1.0, le=64.0)
