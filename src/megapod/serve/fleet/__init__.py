"""The fleet coordinator of the control plane: owners and vehicles, work batches leased to
cars, results judged by quorum, host reputation, and the books in a double-entry ledger.

The rules are the fleet engine's own (:mod:`megapod.fleet.rules`, :mod:`megapod.fleet.payout`,
:mod:`megapod.fleet.kernels`); this package applies them to rows of the database.
"""

from __future__ import annotations

from megapod.serve.fleet.coordinator import Coordinator

__all__ = ["Coordinator"]
