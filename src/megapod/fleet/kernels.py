"""Work-unit kernels a car really runs: deterministic numeric jobs whose results a quorum compares.

A kernel is named in a work batch (``kernel: tiny-lm``) with its parameters; every unit of the
batch has its own seed. Running the kernel on any machine gives the same result, byte for
byte, so two honest cars agree and a wrong result stands out. Results are SHA-256 digests.

``tiny-lm`` is batch inference of a tiny language model built from numpy: weights, embeddings
and prompts drawn from seeded generators, integer arithmetic only (int64 accumulators, shifts
and clips for requantisation), greedy decoding. Integer matrix products in numpy are exact
and do not go through a BLAS, so the result does not depend on the CPU or on threading.
Nothing is downloaded. A run advances in steps (one decoded token for the whole batch each),
so a car checkpoints between steps and resumes from the checkpoint.

Register another with ``KERNELS.register(name, kernel)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import Field

from megapod.registry import Registry
from megapod.spec.base import SpecModel
from megapod.spec.loader import validate

IntArray = npt.NDArray[np.int64]


@dataclass
class KernelState:
    """Where a unit's run is: the step reached and the kernel's arrays (a checkpoint)."""

    step: int
    arrays: dict[str, IntArray]


class Kernel(Protocol):
    """What the coordinator and the agent need of a kernel."""

    def check(self, params: dict[str, Any], where: str) -> dict[str, Any]:
        """The parameters with defaults filled in, or a ``SpecError`` naming the field."""
        ...

    def tokens(self, params: dict[str, Any]) -> int:
        """Work of one unit, in tokens (what revenue and shares are counted in)."""
        ...

    def steps(self, params: dict[str, Any]) -> int:
        """Steps of one unit (checkpoints fall between them)."""
        ...

    def start(self, params: dict[str, Any], seed: int) -> KernelState:
        """The state before the first step of the unit seeded ``seed``."""
        ...

    def advance(self, params: dict[str, Any], state: KernelState, steps: int) -> KernelState:
        """Run up to ``steps`` more steps (never past the last)."""
        ...

    def digest(self, params: dict[str, Any], state: KernelState) -> str:
        """The result of a finished unit: a hex SHA-256 digest."""
        ...


#: The kernels, by name.
KERNELS: Registry[Kernel] = Registry("fleet kernel")


class TinyLMParams(SpecModel):
    """Size of the tiny model and of one unit's batch."""

    vocab: int = Field(256, ge=16, le=4096, description="tokens in the vocabulary")
    d_model: int = Field(64, ge=8, le=512, description="width of the model")
    layers: int = Field(2, ge=1, le=16, description="feed-forward blocks")
    batch: int = Field(8, ge=1, le=256, description="sequences decoded together")
    prompt_tokens: int = Field(8, ge=1, le=256)
    new_tokens: int = Field(32, ge=1, le=100_000, description="tokens decoded per sequence")
    model_seed: int = Field(0, ge=0, le=2**63 - 1, description="seed of the weights")


#: Right shift that brings an int product back to the int8 range (requantisation).
SHIFT = 8
#: Learned-position table length (positions wrap around).
POSITIONS = 61
#: Activations are clipped to the int8 range.
CLIP = 127


class TinyLM:
    """Greedy decoding of a seeded integer MLP language model (see the module docstring)."""

    def check(self, params: dict[str, Any], where: str = "params") -> dict[str, Any]:
        """Validated parameters with their defaults (``SpecError`` at ``where.field``)."""
        return validate(TinyLMParams, params, where).model_dump()

    def tokens(self, params: dict[str, Any]) -> int:
        """``batch × new_tokens`` decoded tokens."""
        return int(params["batch"]) * int(params["new_tokens"])

    def steps(self, params: dict[str, Any]) -> int:
        """One step per decoded token."""
        return int(params["new_tokens"])

    def _weights(self, p: dict[str, Any]) -> tuple[IntArray, IntArray, list[IntArray], list[IntArray]]:
        rng = np.random.default_rng(int(p["model_seed"]))
        v, d, layers = int(p["vocab"]), int(p["d_model"]), int(p["layers"])
        emb = rng.integers(-CLIP, CLIP + 1, size=(v, d), dtype=np.int64)
        up = [rng.integers(-4, 5, size=(d, 4 * d), dtype=np.int64) for _ in range(layers)]
        down = [rng.integers(-4, 5, size=(4 * d, d), dtype=np.int64) for _ in range(layers)]
        pos = rng.integers(-CLIP, CLIP + 1, size=(POSITIONS, d), dtype=np.int64)
        return emb, pos, up, down

    def start(self, params: dict[str, Any], seed: int) -> KernelState:
        """Prompts drawn from ``seed``; the hidden state after reading them."""
        emb, pos, up, down = self._weights(params)
        rng = np.random.default_rng(seed)
        b, v = int(params["batch"]), int(params["vocab"])
        prompt = rng.integers(0, v, size=(b, int(params["prompt_tokens"])), dtype=np.int64)
        h = np.zeros((b, int(params["d_model"])), dtype=np.int64)
        for i in range(prompt.shape[1]):
            h = self._block(h, emb[prompt[:, i]] + pos[i % POSITIONS], up, down)
        out = np.zeros((b, int(params["new_tokens"])), dtype=np.int64)
        return KernelState(0, {"h": h, "out": out})

    @staticmethod
    def _block(h: IntArray, x_in: IntArray, up: list[IntArray], down: list[IntArray]) -> IntArray:
        x = (2 * h + x_in) >> 2  # mix the state with the token and position read
        for w1, w2 in zip(up, down, strict=True):
            a = np.clip(np.maximum(x @ w1, 0) >> SHIFT, 0, CLIP)
            x = np.clip((x + ((a @ w2) >> (SHIFT + 2))) >> 1, -CLIP, CLIP)
        return np.asarray(x, dtype=np.int64)

    def advance(self, params: dict[str, Any], state: KernelState, steps: int) -> KernelState:
        """Decode up to ``steps`` more tokens per sequence (greedy: the lowest index wins ties)."""
        emb, pos, up, down = self._weights(params)
        h, out = state.arrays["h"].copy(), state.arrays["out"].copy()
        step = state.step
        last = min(int(params["new_tokens"]), step + max(steps, 0))
        while step < last:
            at = (int(params["prompt_tokens"]) + step) % POSITIONS
            logits = (4 * h + pos[at]) @ emb.T
            tok = np.argmax(logits, axis=1).astype(np.int64)
            out[:, step] = tok
            h = self._block(h, emb[tok] + pos[at], up, down)
            step += 1
        return KernelState(step, {"h": h, "out": out})

    def digest(self, params: dict[str, Any], state: KernelState) -> str:
        """SHA-256 of the decoded tokens and the final hidden state (little-endian int64)."""
        if state.step < int(params["new_tokens"]):
            raise ValueError(f"the unit is at step {state.step} of {params['new_tokens']}: not finished")
        sha = hashlib.sha256()
        sha.update(state.arrays["out"].astype("<i8").tobytes())
        sha.update(state.arrays["h"].astype("<i8").tobytes())
        return sha.hexdigest()


KERNELS.register("tiny-lm", TinyLM())


def run_unit(kernel: str, params: dict[str, Any], seed: int) -> str:
    """Run one unit from start to finish and return its result (a reference for tests)."""
    k = KERNELS.lookup(kernel, "kernel")
    state = k.advance(params, k.start(params, seed), k.steps(params))
    return k.digest(params, state)
