"""A double-entry ledger in integer micro-dollars: every booking moves an amount from one
account to another, so the balances of all accounts always sum to zero.

Accounts are numbered: :data:`CUSTOMER` (who buys the work), :data:`OPERATOR` (who runs the
fleet), then one account per owner (``OWNER0 + vehicle``). Amounts are whole micro-dollars
(``int64``), so sums are exact and "payouts + operator margin == revenue" holds to the last
unit, not to a float tolerance.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

CUSTOMER, OPERATOR, OWNER0 = 0, 1, 2
#: Micro-dollars per dollar.
MICRO_USD = 1_000_000

IntArray = npt.NDArray[np.int64]


class Ledger:
    """Bookings ``(debit account, credit account, amount [µUSD])``; the credit account gains."""

    def __init__(self, owners: int) -> None:
        self.accounts = OWNER0 + owners
        self._debit: list[IntArray] = []
        self._credit: list[IntArray] = []
        self._amount: list[IntArray] = []

    def book(self, debit: int | IntArray, credit: int | IntArray, amount_micro_usd: IntArray) -> None:
        """Move ``amount_micro_usd`` (one entry per element, each ≥ 0) from ``debit`` to ``credit``."""
        amount = np.asarray(amount_micro_usd, dtype=np.int64).ravel()
        if (amount < 0).any():
            raise ValueError("a booking amount is negative; book it the other way round")
        n = amount.size
        self._debit.append(np.broadcast_to(np.asarray(debit, dtype=np.int64), (n,)).copy())
        self._credit.append(np.broadcast_to(np.asarray(credit, dtype=np.int64), (n,)).copy())
        self._amount.append(amount)

    def entries(self) -> tuple[IntArray, IntArray, IntArray]:
        """All bookings as three arrays: debit account, credit account, amount [µUSD]."""
        if not self._amount:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.copy(), empty.copy()
        return np.concatenate(self._debit), np.concatenate(self._credit), np.concatenate(self._amount)

    def balances(self) -> IntArray:
        """Balance of every account [µUSD]: credits minus debits (they sum to zero)."""
        debit, credit, amount = self.entries()
        out = np.zeros(self.accounts, dtype=np.int64)
        np.add.at(out, credit, amount)
        np.subtract.at(out, debit, amount)
        return out
