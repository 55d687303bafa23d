"""The repository's published validation cases (``validation/``) and the error figures the
tests of each file hold."""

from __future__ import annotations

from pathlib import Path

from megapod.planner.layout import CasePrediction, ValidationReport, validate_cases
from megapod.spec.training_case import read_cases

VALIDATION = Path(__file__).resolve().parents[2] / "validation"


def report_for(name: str) -> ValidationReport:
    """Every case of ``validation/<name>`` predicted."""
    return validate_cases(read_cases(VALIDATION / name))


def tflops_err(p: CasePrediction) -> float:
    """Signed error of the predicted TFLOP/s per GPU against the measured [%]."""
    return float(p.errors_pct()["tflops_per_gpu"])


def mape(preds: list[CasePrediction]) -> float:
    """Mean absolute TFLOP/s error of ``preds`` [%]."""
    return sum(abs(tflops_err(p)) for p in preds) / len(preds)
