"""The twin's registries use the package's one mechanism (:mod:`megapod.registry`)."""

from megapod.registry import Registry

__all__ = ["Registry"]
