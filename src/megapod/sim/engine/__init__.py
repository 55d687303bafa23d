"""A small discrete-event kernel with no data-center knowledge and no I/O."""

from megapod.sim.engine.kernel import EventKernel

__all__ = ["EventKernel"]
