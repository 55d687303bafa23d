"""``megapod predict``: validation table and JSON, serving, layouts, time to train, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

Cli = Callable[..., tuple[int, str, str]]

CASE = """
- id: ok
  source: "nemo2407: test"
  hardware: {gpu: h100-sxm, gpus_per_node: 8, scale_out_gbps_per_gpu: null}
  model: {layers: 8, hidden: 2048, heads: 16, kv_heads: 16, ffn_hidden: 8192, vocab: 32000,
          seq_len: 2048}
  parallelism: {gpus: 16, tp: 2, pp: 1, dp: 8, global_batch: 128, micro_batch: null,
                recompute: null, zero_stage: null, dtype: bf16}
  measured: {tflops_per_gpu: 400}
- id: heads-not-divisible
  source: "nemo2407: test"
  hardware: {gpu: h100-sxm}
  model: {layers: 8, hidden: 2048, heads: 16, vocab: 32000, seq_len: 2048}
  parallelism: {gpus: 24, tp: 3, pp: 1, dp: 8, global_batch: 128, dtype: bf16}
- id: wrong-gpu-count
  source: "nemo2407: test"
  hardware: {gpu: h100-sxm}
  model: {layers: 8, hidden: 2048, heads: 16, vocab: 32000, seq_len: 2048}
  parallelism: {gpus: 16, tp: 2, pp: 1, dp: 4, global_batch: 128, dtype: bf16}
- id: does-not-fit
  source: "nemo2407: test"
  hardware: {gpu: h100-sxm}
  model: {layers: 96, hidden: 12288, heads: 96, vocab: 51200, seq_len: 2048}
  parallelism: {gpus: 8, tp: 8, pp: 1, dp: 1, global_batch: 8, micro_batch: 8,
                recompute: none, zero_stage: 0, dtype: bf16}
"""


def test_train_json_answers_each_case(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(CASE)
    code, out, err = cli("predict", "train", path, "--json")
    assert code == 2  # some cases could not be answered; each says why
    assert "error: case heads-not-divisible: heads 16 are not divisible by tp 3" in err
    ok, heads, count, fit = json.loads(out)
    assert ok["id"] == "ok" and ok["tflops_per_gpu"] > 0 and ok["measured"]["tflops_per_gpu"] == 400
    assert set(ok["chosen"]) == {"micro_batch", "recompute", "zero_stage"}
    for key in ("step_time_s", "mfu", "tokens_per_s_per_gpu", "memory_per_gpu_gib"):
        assert key in ok
    assert "heads 16" in heads["error"] and "tp 3" in heads["error"]
    assert "16" in count["error"]
    assert "GiB" in fit["error"]


def test_train_table_on_shared_cases(cli: Cli, shared_dir: Path) -> None:
    code, out, _ = cli("predict", "train", shared_dir / "validation" / "training.yaml")
    assert code == 0
    assert "megatron21-t1-1008B" in out
    line = next(x for x in out.splitlines() if x.startswith("MAPE tflops_per_gpu"))
    assert float(line.split(":")[1].split("%")[0]) <= 10.0


def test_bad_case_file_exits_2(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text("just: a mapping\n")
    code, _, err = cli("predict", "train", path)
    assert code == 2
    assert "list of cases" in err and "Traceback" not in err


def test_serve(cli: Cli) -> None:
    code, out, _ = cli(
        "predict",
        "serve",
        "--model",
        "llama3-70b",
        "--gpu",
        "h100-sxm",
        "--tp",
        "8",
        "--batch",
        "16",
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["decode_tokens_per_s"] > 0 and doc["max_batch"] >= 16


def test_serve_bad_tp_exits_2(cli: Cli) -> None:
    code, _, err = cli("predict", "serve", "--model", "llama3-70b", "--gpu", "h100-sxm", "--tp", "3")
    assert code == 2
    assert "heads 64 are not divisible by tp 3" in err


def test_layouts_and_time_to_train(cli: Cli) -> None:
    run_8b = ("--model", "llama3-8b", "--gpu", "h100-sxm", "--gpus", "64", "--global-batch", "256")
    code, out, _ = cli("predict", "layouts", *run_8b, "--top", "3", "--json")
    assert code == 0
    doc = json.loads(out)
    assert len(doc["layouts"]) == 3 and doc["valid"] <= doc["evaluated"]
    code, out, _ = cli("predict", "time-to-train", *run_8b, "--tokens", "1T", "--json")
    assert code == 0
    run = json.loads(out)
    assert run["tokens"] == 1e12 and run["wall_days"] > 0 and run["gpu_energy_mwh"] > 0
    code, _, err = cli("predict", "time-to-train", *run_8b, "--tokens", "lots")
    assert code == 2 and "--tokens" in err
    too_big = ("--model", "megatron-1t", "--gpu", "h100-sxm", "--gpus", "8", "--global-batch", "8")
    code, _, err = cli("predict", "layouts", *too_big)
    assert code == 2 and "no valid layout" in err


def test_a_layout_with_uneven_stages_says_so(cli: Cli) -> None:
    code, out, err = cli(
        "predict", "layouts", "--model", "llama3-70b", "--gpu", "h100-sxm", "--gpus", "72",
        "--global-batch", "576", "--top", "20",
    )  # fmt: skip
    assert code == 0, err
    uneven = [line for line in out.splitlines() if " pp3 " in line]
    assert uneven and all("80 layers over pp 3: uneven stages of 26–27" in line for line in uneven), out
    even = [line for line in out.splitlines() if " pp1 " in line or " pp2 " in line]
    assert not any("uneven" in line for line in even)
