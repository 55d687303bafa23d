"""The Alibaba GPU-sharing trace reader (2023 format) on a small synthetic fixture, the window
end of every trace format, and rows not replayed counted by reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from megapod.errors import SpecError
from megapod.spec.workload import TraceReplay
from megapod.traces import SKIP_REASONS, read_alibaba_nodes, read_alibaba_pods, read_trace
from megapod.traces.formats import TRACE_FORMATS, read_replay

DATA = Path(__file__).parent / "data"
PODS = DATA / "synthetic_alibaba_gpu_pods.csv"
NODES = DATA / "synthetic_alibaba_gpu_nodes.csv"
POD_HEADER = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time\n"
)


def test_node_table_gives_sizes_types_cpu_and_memory() -> None:
    t = read_alibaba_nodes(NODES)
    assert len(t) == 12 and sum(t.gpus) == 46
    assert sorted(set(t.gpus)) == [0, 1, 2, 4, 8]
    assert t.gpu_type[0] == "" and t.gpus[0] == 0  # a CPU-only node
    assert t.gpu_type[2] == "V100M32" and t.cpu_milli[2] == 96_000 and t.memory_mib[2] == 786_432


def test_node_table_takes_num_gpu_for_gpu(tmp_path: Path) -> None:
    p = tmp_path / "n.csv"
    p.write_text("sn,cpu_milli,memory_mib,num_gpu,model\na,1000,2048,2,T4\n")
    assert read_alibaba_nodes(p).gpus == [2]


def test_pods_keep_shares_types_cpu_only_rows_and_count_the_rest() -> None:
    t = read_alibaba_pods(PODS)
    assert len(t) == 35 and t.skipped == {"never_scheduled": 2}
    assert list(t.submit_s) == sorted(t.submit_s)
    assert t.gpu_milli is not None and t.gpu_type is not None and t.cpu_milli is not None
    assert sorted(set(t.gpu_milli.tolist())) == [0, 250, 300, 500]
    assert ((t.gpu_milli > 0) <= (t.gpus == 1)).all()  # a share is of one GPU
    assert (t.gpus == 0).sum() == 5
    assert "V100M16|V100M32" in set(t.gpu_type.tolist())
    i = list(t.job_id).index("synth-pod-903")
    assert t.gpu_type[i] == "H800" and t.duration_s[i] == 9500 - 8001  # deletion − scheduled


def test_pod_window_has_an_end_and_counts_rows_outside_it() -> None:
    t = read_alibaba_pods(PODS, start_s=2_000, end_s=8_000, time_scale=0.5)
    all_rows = read_alibaba_pods(PODS)
    inside = (all_rows.submit_s >= 2_000) & (all_rows.submit_s < 8_000)
    assert len(t) == int(inside.sum())
    assert t.submit_s.min() >= 0 and t.submit_s.max() < (8_000 - 2_000) * 0.5
    assert t.skipped["outside_window"] + t.skipped.get("never_scheduled", 0) + len(t) == 37


def test_bad_pod_values_name_the_column_and_line(tmp_path: Path) -> None:
    p = tmp_path / "p.csv"
    p.write_text(POD_HEADER + "a,4000,1024,1,1500,,LS,Running,0,10,0\n")
    with pytest.raises(SpecError, match=r"gpu_milli.*line 2: must be a whole number from 0 to 1,000"):
        read_alibaba_pods(p)
    p.write_text("name,cpu_milli\na,1\n")
    with pytest.raises(SpecError, match="missing column"):
        read_alibaba_pods(p)
    p.write_text(POD_HEADER + "a,-1,1024,1,1000,,LS,Running,0,10,0\n")
    with pytest.raises(SpecError, match="cpu_milli"):
        read_alibaba_pods(p)


def test_normalized_reader_counts_rows_not_replayed_and_has_a_window_end(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(
        "job_id,submit_time_s,duration_s,num_gpus,status\n"
        "a,0,100,1,ok\nb,10,,2,failed\nc,20,400,8,ok\nd,30,50,0,ok\ne,40,1000,4,ok\n"
    )
    t = read_trace(p)
    assert list(t.job_id) == ["a", "c", "e"]
    assert t.skipped == {"never_scheduled": 1, "cpu_only": 1}
    w = read_trace(p, start_s=5, end_s=40)
    assert list(w.job_id) == ["c"]
    assert w.skipped == {"outside_window": 2, "never_scheduled": 1, "cpu_only": 1}
    assert set(w.skipped) <= set(SKIP_REASONS)


@pytest.mark.parametrize("fmt", sorted(TRACE_FORMATS))
def test_every_trace_format_reads_its_window_sorted(fmt: str, tmp_path: Path) -> None:
    if fmt == "normalized":
        p = tmp_path / "t.csv"
        p.write_text("job_id,submit_time_s,duration_s,num_gpus,status\nb,50,5,1,x\na,10,5,2,x\nc,900,5,1,x\n")
    else:
        p = PODS
    t = read_replay(p, TraceReplay(path=str(p), format=fmt, start_s=10, end_s=800))
    assert len(t) > 0 and np.all(np.diff(t.submit_s) >= 0)
    assert t.submit_s.min() >= 0 and t.submit_s.max() < 790
    assert t.skipped.get("outside_window", 0) > 0


def test_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="alibaba-gpu-2023, normalized"):
        TraceReplay(path="x.csv", format="borg")
