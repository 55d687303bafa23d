"""Run the Helios QSSF-service simulator (Hu et al., SC '21 artifact) on the shared Philly trace.

The peer is GitHub ``S-Lab-System-Group/HeliosArtifact``, folder ``framework/QSSF Service``
(MIT). This script does not copy it: it takes the path of a checkout, writes the shared trace in
the peer's input format into a scratch folder, imports the peer's own modules from the checkout
and calls its per-VC entry point ``utils.simulate_vc`` for each policy and VC, exactly as the
peer's ``simulator.py`` does (that script also runs QSSF, whose estimator needs a data file the
artifact ships separately, so it is not used). Placement is the peer's ``consolidate``.

The peer's input, as its ``utils.trace_philly_process`` reads it:
  ``cluster_log.csv`` with columns ``user,vc,jobname,gpu_num,state,submit_time,duration``
  (``submit_time`` a date-time string) and ``vc_dict_homo.pkl``, a pickled ``{vc: nodes}``
  (the peer builds it from its ``data/philly_vc.csv``; the shared ``philly_vc_nodes.csv`` is
  that file with its header renamed). ``user``, ``jobname`` and ``state`` are read but do not
  change any result; the shared trace has none, so placeholders are written.

What the peer then does with it (its window, ``simulator.py`` and ``utils.py``):
  keep jobs with ``gpu_num > 0`` in the listed VCs submitted at or after 2017-10-01 00:00:00,
  shift times so the first kept job is at t = 0, keep ``0 <= t <= 5,270,340 s``
  (2017-11-30 23:59:00 minus 2017-10-01 00:00:00), then step each VC one second at a time
  until every kept job has finished. The peer turns date-times into seconds with the local
  time zone, so this script pins ``TZ=UTC`` (the trace carries no zone).

Writes mean JCT and mean queue delay over all jobs of all VCs per policy, as the peer's
``cluster_analysis`` computes its ``all`` row (it truncates to whole seconds; both are kept).

The peer steps every second, so it is slow: on a shared 2-core machine with 2 processes the
three policies took about 26 min of wall time (summed per-VC times in the JSON: FIFO 1,058 s,
SJF 287 s, SRTF 1,576 s). The peer sorts the trace with pandas' default (unstable) sort, so
jobs submitted in the same second reach it in an order other than the file's
(``ties_in_input_order`` in the JSON); under FIFO and SJF every job's start time still equals
megapod's.

Run: .venv/bin/python benchmarks/peer_helios.py PATH/TO/HeliosArtifact [--policies fifo sjf srtf]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "traces"
OUT = ROOT / "benchmarks" / "data" / "helios_philly_peer.json"
TRACE_ORIGIN = pd.Timestamp("2017-09-04 10:30:41")  # origin of submit_time_s, shared README
WINDOW = ("2017-10-01 00:00:00", "2017-11-30 23:59:00")  # the peer's simulator.py, Philly
PLACER = "consolidate"

_peer: dict[str, object] = {}


def _import_peer(peer_dir: Path) -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    sys.path.insert(0, str(peer_dir))
    import cluster
    import utils

    _peer["cluster"], _peer["utils"] = cluster, utils


def write_peer_input(trace_csv: Path, vc_csv: Path, data_dir: Path) -> dict[str, int]:
    """Write ``cluster_log.csv`` and ``vc_dict_homo.pkl`` for the peer; return the VC layout."""
    jobs = pd.read_csv(trace_csv)
    vcs = pd.read_csv(vc_csv)
    vc_dict = {str(v): int(n) for v, n in zip(vcs["vc"], vcs["num_nodes"], strict=True)}
    submit = TRACE_ORIGIN + pd.to_timedelta(jobs["submit_time_s"], unit="s")
    log = pd.DataFrame(
        {
            "user": "unknown",
            "vc": jobs["vc"].astype(str),
            "jobname": jobs["job_id"],
            "gpu_num": jobs["num_gpus"],
            "state": "Pass",
            "submit_time": submit.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "duration": jobs["duration_s"],
        }
    )
    log = log[log["duration"].notna()]
    log.to_csv(data_dir / "cluster_log.csv", index=False)
    with open(data_dir / "vc_dict_homo.pkl", "wb") as f:
        pickle.dump(vc_dict, f, pickle.HIGHEST_PROTOCOL)
    return vc_dict


def _init_worker(peer_dir: str) -> None:
    _import_peer(Path(peer_dir))


def _simulate(args: tuple) -> tuple[str, str, float]:
    trace, vc_index, vc_dict, log_dir, policy, start_ts = args
    cluster = _peer["cluster"]
    utils = _peer["utils"]
    site = cluster.Cluster(vc_dict, 8, 96)  # simulator.py defaults: 8 GPUs, 96 CPUs per node
    vc = site.vc_list[vc_index]
    logger = logging.getLogger("helios-peer")
    t0 = time.perf_counter()
    utils.simulate_vc(trace, vc, PLACER, log_dir, policy, logger, start_ts)
    return policy, vc.vc_name, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("helios", type=Path, help="path of a HeliosArtifact checkout")
    ap.add_argument("--trace", type=Path, default=SHARED / "philly_2017_jobs.csv")
    ap.add_argument("--vcs", type=Path, default=SHARED / "philly_vc_nodes.csv")
    ap.add_argument("--policies", nargs="+", default=["fifo", "sjf", "srtf"])
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument(
        "--collect-only", action="store_true", help="only summarise the peer logs already in --work"
    )
    args = ap.parse_args()

    peer_dir = args.helios / "framework" / "QSSF Service"
    _import_peer(peer_dir)
    utils = _peer["utils"]
    work = args.work or Path(tempfile.mkdtemp(prefix="helios-peer-"))
    data_dir, log_dir = work / "data", work / "log"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    vc_dict = write_peer_input(args.trace, args.vcs, data_dir)

    df, start_ts = utils.trace_philly_process(str(data_dir), WINDOW)
    trace = utils.trace_parser(df)
    # the peer sorts with pandas' default (unstable) sort: record whether same-second ties
    # kept the input order, since FIFO breaks ties by that order
    ids = [j["jobname"] for j in trace.job_list]  # jobname carries the shared job_id
    ties_in_input_order = ids == sorted(ids)  # ids grow with the input rows

    # biggest VCs first, so the pool finishes together
    order = sorted(range(len(vc_dict)), key=lambda i: -list(vc_dict.values())[i])
    tasks = [(trace, i, vc_dict, str(log_dir), p, start_ts) for p in args.policies for i in order]
    walls: dict[str, float] = {}
    if not args.collect_only:
        with ProcessPoolExecutor(args.processes, initializer=_init_worker, initargs=(str(peer_dir),)) as pool:
            for policy, vc, wall in pool.map(_simulate, tasks):
                walls[policy] = walls.get(policy, 0.0) + wall
                print(f"{policy:<5} {vc}  {wall:7.1f} s", flush=True)

    result: dict[str, object] = {
        "peer": "S-Lab-System-Group/HeliosArtifact, framework/QSSF Service",
        "trace": "philly_2017_jobs.csv (shared), converted by benchmarks/peer_helios.py",
        "window": list(WINDOW),
        "placement": PLACER,
        "gpus_per_node": 8,
        "jobs": len(trace.job_list),
        "first_submit_s": int(df["submit_time"].min()),
        "ties_in_input_order": ties_in_input_order,
        "policies": {},
    }
    for policy in args.policies:
        logs = [pd.read_csv(log_dir / vc / f"{policy}_{PLACER}_{vc}_log.csv") for vc in vc_dict]
        all_log = pd.concat(logs)
        jct, que = float(all_log["jct"].mean()), float(all_log["queue"].mean())
        result["policies"][policy] = {
            "jct_mean_s": jct,
            "queue_mean_s": que,
            "jct_mean_s_int": int(jct),
            "queue_mean_s_int": int(que),
            "jobs": len(all_log),
            "preempted_jobs": int((all_log["ckpt_times"] > 0).sum()),
            "peer_wall_s": round(walls[policy], 1) if policy in walls else None,
        }
        all_log[["jobname", "vc", "gpu_num", "submit_time", "start_time", "end_time", "queue"]].to_csv(
            work / f"{policy}_jobs.csv", index=False
        )
        print(f"{policy}: jct_mean={jct:,.2f} s  queue_mean={que:,.2f} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}; per-job peer logs in {work}")


if __name__ == "__main__":
    main()
