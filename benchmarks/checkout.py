"""A worktree of an earlier revision, for benchmarks that run it side by side with this checkout."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def revision_src(rev: str) -> Iterator[Path]:
    """The package folder (``src``) of a detached worktree of ``rev``, removed at the end; a
    revision git does not know ends the benchmark with git's message."""
    with tempfile.TemporaryDirectory(prefix="megapod-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        made = subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), rev],
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            raise SystemExit(f"baseline {rev}: {made.stderr.strip()}")
        try:
            yield tree / "src"
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
