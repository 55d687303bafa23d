"""Output files of the commands: checked before the work starts, written atomically.

A path that exists (without ``--force``), whose folder is missing, or that is a folder is refused
with one line (exit 2) before any computation; a file is written under a temporary name beside
it and renamed into place, so an interrupted command never leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from megapod.errors import SpecError

if TYPE_CHECKING:
    import pandas as pd

#: The table formats ``write_table`` writes, by file suffix.
TABLE_SUFFIXES = (".csv", ".parquet")


def check_out_file(flag: str, path: Path, force: bool = False) -> None:
    """Refuse ``path`` for ``flag`` unless a new file can be written there (or replaced with ``force``)."""
    if path.is_dir():
        raise SpecError(flag, f"{path} is a folder; give a file name")
    if path.exists() and not force:
        raise SpecError(flag, f"{path} already exists; pass --force to replace it")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SpecError(flag, f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise SpecError(flag, f"folder {folder} is not writable")


def check_table_file(flag: str, path: Path, force: bool = False) -> None:
    """:func:`check_out_file`, and the suffix must name a table format (``.csv`` or ``.parquet``)."""
    if path.suffix not in TABLE_SUFFIXES:
        raise SpecError(flag, f"{path.name}: give a file ending in {' or '.join(TABLE_SUFFIXES)}")
    check_out_file(flag, path, force)


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` as CSV or Parquet, by the file's suffix, atomically."""
    if path.suffix == ".parquet":
        write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
    else:
        write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))
