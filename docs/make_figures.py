"""Regenerate every sample output in README.md and docs/*.md from the current code.

A sample is a fenced ``text`` block right after a marker naming the command that prints it::

    <!-- sample: megapod describe examples/megapod.yaml -->
    ```text
    $ megapod describe examples/megapod.yaml
    ...what the command prints...
    ```

``| grep: REGEX`` after the command keeps only the lines that match (for excerpts of long
tables). Commands run from the repository root as ``python -m megapod``; a sample whose command
reads ``../shared`` is left as it is when that folder is absent.

    python docs/make_figures.py          # rewrite the samples in place, then remake the pictures
    python docs/make_figures.py --check  # exit 1 and name each sample that differs

The pictures in ``docs/img`` (report pages and the live dashboard, drawn in Chromium) are
remade by ``docs/make_screenshots.py``, which this script runs after the samples unless
``--no-pictures`` is given.

``tests/test_docs_samples.py`` runs the check, so a committed sample never drifts from the code.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The marker, the fenced block after it, and the command and optional filter inside the marker.
SAMPLE = re.compile(
    r"<!-- sample: (?P<command>.+?) -->\n```text\n(?P<body>.*?)```\n",
    re.DOTALL,
)


@dataclass(frozen=True)
class Sample:
    """One sample block: where it is and the command that prints it."""

    path: Path
    command: str
    body: str

    @property
    def argv(self) -> list[str]:
        """The command's arguments after ``megapod``."""
        words = shlex.split(self.command.split(" | grep: ")[0])
        if not words or words[0] != "megapod":
            raise ValueError(f"{self.path.name}: sample command must start with 'megapod': {self.command}")
        return words[1:]

    @property
    def pattern(self) -> re.Pattern[str] | None:
        """The line filter, if the marker has one."""
        _, sep, regex = self.command.partition(" | grep: ")
        return re.compile(regex) if sep else None

    @property
    def runnable(self) -> bool:
        """False when the command reads the shared data folder and it is not there."""
        return not any("../shared" in a for a in self.argv) or (ROOT.parent / "shared").is_dir()


def samples(paths: list[Path]) -> list[Sample]:
    """Every sample block in ``paths``, in file order."""
    found = []
    for path in paths:
        for match in SAMPLE.finditer(path.read_text(encoding="utf-8")):
            found.append(Sample(path, match["command"], match["body"]))
    return found


def render(sample: Sample) -> str:
    """What the sample's block should hold: the prompt line and the command's output."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "MEGAPOD_PROGRESS": "0"}
    proc = subprocess.run(
        [sys.executable, "-m", "megapod", *sample.argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = (proc.stdout + proc.stderr).rstrip("\n").splitlines()
    if sample.pattern is not None:
        lines = [line for line in lines if sample.pattern.search(line)]
    shown = sample.command.split(" | grep: ")[0]
    return "\n".join([f"$ {shown}", *(line.rstrip() for line in lines)]) + "\n"


def document_paths() -> list[Path]:
    """README.md and every Markdown file in docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def update(path: Path) -> list[str]:
    """Rewrite the samples of one file in place; return the commands whose output changed."""
    text = path.read_text(encoding="utf-8")
    changed: list[str] = []

    def replace(match: re.Match[str]) -> str:
        sample = Sample(path, match["command"], match["body"])
        if not sample.runnable:
            return match[0]
        body = render(sample)
        if body != match["body"]:
            changed.append(sample.command)
        return f"<!-- sample: {sample.command} -->\n```text\n{body}```\n"

    new = SAMPLE.sub(replace, text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return changed


def main() -> int:
    """Rewrite (or with ``--check`` compare) every sample; exit 1 on a difference in check mode."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if a sample differs")
    parser.add_argument("--no-pictures", action="store_true", help="leave docs/img as it is")
    args = parser.parse_args()
    stale = []
    for path in document_paths():
        if args.check:
            stale += [
                f"{path.name}: {s.command}" for s in samples([path]) if s.runnable and render(s) != s.body
            ]
        else:
            stale += [f"{path.name}: {c}" for c in update(path)]
    for line in stale:
        print(("differs: " if args.check else "updated: ") + line)
    if not args.check and not args.no_pictures:
        subprocess.run([sys.executable, str(ROOT / "docs" / "make_screenshots.py")], cwd=ROOT, check=True)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
