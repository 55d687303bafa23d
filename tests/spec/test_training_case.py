"""Reading validation cases (validation/SCHEMA.md): every shared case parses; bad ones are
reported one by one; a file that is not a case list is refused with a SpecError."""

from __future__ import annotations

from pathlib import Path

import pytest

from megapod.errors import SpecError
from megapod.spec.training_case import CaseError, TrainingCase, read_cases

GOOD = """
- id: tiny
  source: "test"
  hardware: {gpu: h100-sxm, gpus_per_node: 8, scale_out_gbps_per_gpu: 400}
  model: {layers: 4, hidden: 1024, heads: 16, kv_heads: 16, ffn_hidden: 4096, vocab: 32000,
          seq_len: 2048, gated_mlp: false, experts: 1, top_k: 1}
  parallelism: {gpus: 8, tp: 1, pp: 1, dp: 8, cp: 1, ep: 1, global_batch: 64,
                micro_batch: null, interleave: 1, recompute: null, zero_stage: null, dtype: bf16}
  measured: {tflops_per_gpu: 300, mfu: null, step_time_s: null, tokens_per_s_per_gpu: null}
"""


def test_shared_cases_all_parse(shared_dir: Path) -> None:
    cases = read_cases(shared_dir / "validation" / "training.yaml")
    assert len(cases) >= 28
    assert all(isinstance(c, TrainingCase) for c in cases)
    ids = [c.id for c in cases if isinstance(c, TrainingCase)]
    assert len(ids) == len(set(ids))


def test_a_good_case(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(GOOD)
    (case,) = read_cases(path)
    assert isinstance(case, TrainingCase)
    assert case.parallelism.micro_batch is None
    assert case.measured.tflops_per_gpu == 300


def test_a_bad_case_does_not_stop_the_others(tmp_path: Path) -> None:
    bad = GOOD.replace("id: tiny", "id: broken").replace("layers: 4", "layers: -4")
    path = tmp_path / "cases.yaml"
    path.write_text(GOOD + bad + "- 42\n")
    good, broken, number = read_cases(path)
    assert isinstance(good, TrainingCase)
    assert isinstance(broken, CaseError)
    assert broken.id == "broken" and "model.layers" in broken.error
    assert isinstance(number, CaseError) and "mapping" in number.error


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(GOOD.replace("recompute: null", "recompte: null"))
    (case,) = read_cases(path)
    assert isinstance(case, CaseError)
    assert "recompte" in case.error and "recompute" in case.error


@pytest.mark.parametrize(
    ("text", "words"),
    [("", "empty"), ("[]", "no cases"), ("a: 1", "list of cases"), ("- [\n", "malformed")],
)
def test_files_that_are_not_case_lists(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=words):
        read_cases(path)


def test_missing_file() -> None:
    with pytest.raises(SpecError, match="cannot read"):
        read_cases("no/such/file.yaml")
