"""``megapod plan`` end to end: training, serving, capability, JSON, HTML, exit codes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import EXAMPLES

Cli = Callable[..., tuple[int, str, str]]


def test_training_report(cli: Cli) -> None:
    code, out, err = cli(
        "plan", EXAMPLES / "megapod.yaml", "--model", "llama3-8b", "--tokens", "1T", "--deadline", "30d"
    )
    assert code == 0, err
    for word in ("Training run", "time to train", "PUE", "TCO over 5 years", "batteries"):
        assert word in out


def test_json_and_html(cli: Cli, tmp_path: Path) -> None:
    page = tmp_path / "plan.html"
    code, out, err = cli(
        "plan",
        EXAMPLES / "megapod.yaml",
        "--model",
        "llama3-8b",
        "--tokens",
        "1T",
        "--json",
        "--html",
        str(page),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "training"
    assert doc["facility"]["pods"] == 1
    assert doc["training"]["wall_s"] > doc["training"]["failure_free_s"] > 0
    html = page.read_text()
    assert html.count('class="mp-chart"') == 4 and "Plotly.newPlot" in html
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)
    assert "https://" not in markup and "<script src" not in html


def test_serving_from_goal_file(cli: Cli, tmp_path: Path) -> None:
    goal = tmp_path / "goal.yaml"
    goal.write_text(
        "kind: serving\nmodel: llama3-70b\ntokens_per_s: 20k\nlatency_per_token_s: 60 ms\ncontext_len: 2048\n"
    )
    code, out, err = cli("plan", EXAMPLES / "megapod.yaml", "--goal", str(goal), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["serving"]["tokens_per_s_capacity"] >= 20_000
    assert doc["serving"]["latency_per_token_s"] <= 0.06


def test_capability(cli: Cli) -> None:
    code, out, err = cli(
        "plan", EXAMPLES / "megapod.yaml", "--capability", "--models", "llama3-8b,llama3-405b", "--json"
    )
    assert code == 0, err
    rows = json.loads(out)["capability"]
    assert [r["model"] for r in rows] == ["llama3-8b", "llama3-405b"]
    assert rows[0]["train_days"] < rows[1]["train_days"]
    code, out, err = cli("plan", EXAMPLES / "megapod.yaml", "--capability", "--models", "llama3-8b")
    assert code == 0, err
    assert "days to train" in out
    code, _, err = cli("plan", EXAMPLES / "megapod.yaml", "--capability", "--models", "llama3-9b")
    assert code == 2 and "llama3-8b" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "llama3-8b", "--tokens", "-5"), "tokens"),
        (("--model", "llama3-405b", "--tokens", "15.6T", "--deadline", "1d"), "extend the deadline"),
        (("--model", "llama3-8b", "--tokens", "1T", "--gpus", "10"), "raise the budget"),
        (("--model", "nope", "--tokens", "1T"), "unknown model preset"),
        (("--tokens", "1T"), "give a model"),
    ],
)
def test_bad_goals_exit_2(cli: Cli, args: tuple[str, ...], message: str) -> None:
    code, _, err = cli("plan", EXAMPLES / "megapod.yaml", *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err and err.count("\n") == 1
