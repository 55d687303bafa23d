"""Published long-sequence FP8 runs of Llama 2 7B on 4-1,024 H100 with context parallelism
(validation/nemo_long_sequence_fp8.yaml: NeMo 24.03, sequence 4K to 1M tokens, CP 1-32).

These rows were seen when the Hopper attention of 2024 stacks was set to FlashAttention-2's
published rate (0.33), so they check that rule rather than the model blind; the bounds are the
errors as measured, with a margin.
"""

from __future__ import annotations

import pytest
from tests.planner.validation_cases import VALIDATION, mape, report_for, tflops_err

from megapod.planner.layout import ValidationReport, validate_cases
from megapod.spec.training_case import read_cases

NAME = "nemo_long_sequence_fp8.yaml"


@pytest.fixture(scope="module")
def report() -> ValidationReport:
    return report_for(NAME)


def test_every_row_is_answered_with_its_published_layout(report: ValidationReport) -> None:
    cases = {c.id: c for c in read_cases(VALIDATION / NAME)}
    assert len(report.predictions) == 9
    for p in report.predictions:
        assert p.error is None and p.result is not None, p.id
        par = cases[p.id].parallelism
        lay = p.result.layout
        assert (lay.tp, lay.pp, lay.dp, lay.cp, lay.dtype) == (par.tp, par.pp, par.dp, par.cp, "fp8")
        assert p.assumptions["software_stack"]["year"] == 2024


def test_errors_as_measured(report: ValidationReport) -> None:
    assert all(abs(tflops_err(p)) <= 7.0 for p in report.predictions)  # measured -3.5 ... +2.7 %
    assert mape(report.predictions) <= 3.0  # measured 1.7 %


def test_the_hopper_kernels_of_2025_would_be_fast_and_more_so_the_longer_the_sequence() -> None:
    """At the attention rate of cuDNN 9 / FlashAttention-3 (a 2025 stack) the same runs come
    out fast, by more the larger the attention's share: the rows tell the two stacks apart."""
    later = [c.model_copy(update={"year": 2025}) for c in read_cases(VALIDATION / NAME)]
    errs = [tflops_err(p) for p in validate_cases(later).predictions]
    assert errs[-1] > 30.0 and errs[-1] > errs[0] + 25.0  # measured +7 % at 4K, +43 % at 1M
