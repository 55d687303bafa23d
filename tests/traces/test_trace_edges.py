"""Trace columns keep their type, absurd values are refused with the line, large traces stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from megapod.errors import SpecError
from megapod.traces import read_trace

HEADER = "job_id,submit_time_s,duration_s,num_gpus,status,vc\n"


def _write(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "trace.csv"
    p.write_text(HEADER + "".join(r + "\n" for r in rows))
    return p


def test_a_partition_name_that_looks_like_a_number_stays_text(tmp_path: Path) -> None:
    p = _write(tmp_path, ["a,0,10,1,Pass,6214e9", "b,5,10,2,Pass,0e3"])
    t = read_trace(p, partition_column="vc")
    assert list(t.partition) == ["6214e9", "0e3"]


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("a,0,10,10000000000000000000,Pass,x", "num_gpus"),
        ("a,0,inf,1,Pass,x", "duration_s"),
        ("a,1e400,10,1,Pass,x", "submit_time_s"),
        ("a,0,-5,1,Pass,x", "duration_s"),
        ("a,0,10,1.5,Pass,x", "num_gpus"),
    ],
)
def test_absurd_values_are_refused_with_the_column(tmp_path: Path, row: str, column: str) -> None:
    p = _write(tmp_path, ["ok,0,10,1,Pass,x", row])
    with pytest.raises(SpecError) as e:
        read_trace(p)
    assert column in str(e.value)


def test_max_jobs_stops_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import megapod.traces.normalized as mod

    monkeypatch.setattr(mod, "CHUNK_ROWS", 10)
    rows = [f"j{i},{i},10,1,Pass,x" for i in range(100)] + ["bad,0,10,oops,Pass,x"]
    p = _write(tmp_path, rows)
    t = read_trace(p, max_jobs=15)  # the malformed last row is never read
    assert len(t) == 15 and t.job_id[-1] == "j14"
    with pytest.raises(SpecError, match="numeric"):
        read_trace(p)
