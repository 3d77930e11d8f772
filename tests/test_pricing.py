"""Prices, usage from the verdicts, and the budget check the runner makes before starting a trial."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_eval.errors import HarnessEvalError
from harness_eval.models import Outcome, TokenUsage, Verdict
from harness_eval.pricing import Usage, budget_exhausted, check_budget, cost, load_prices, verdict_usage

MILLION = TokenUsage(input=1_000_000, output=1_000_000)


def test_builtin_table_is_dated_and_prices_known_models() -> None:
    prices = load_prices()
    assert prices.as_of and "estimate" in prices.note
    assert cost("gpt-4.1-mini", TokenUsage(input=2_000_000, output=500_000), prices) == pytest.approx(0.8 + 0.8)
    assert cost("google/gemini-2.5-pro", MILLION, prices) == cost("gemini-2.5-pro", MILLION, prices)
    assert cost("scripted:copy", MILLION, prices) == 0 and cost("simulated", MILLION, prices) == 0
    assert cost("no-such-model", MILLION, prices) is None  # unknown is not free


def test_a_user_file_overrides_and_extends(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        "as_of: '2026-01'\nmodels:\n  gpt-4.1-mini: {input: 1, output: 2}\n  my-*: {input: 3, output: 4}\n"
    )
    prices = load_prices(path)
    assert prices.as_of == "2026-01"
    assert cost("gpt-4.1-mini", MILLION, prices) == 3
    assert cost("my-model-7b", MILLION, prices) == 7
    assert cost("gpt-4.1", MILLION, prices) == 10  # built-in entries stay


@pytest.mark.parametrize("text", ["models: [1, 2]", "as_of: x\nmodels: {m: {input: 1}}", "{"])
def test_a_bad_price_file_is_one_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(HarnessEvalError, match="is not a price table"):
        load_prices(path)
    with pytest.raises(HarnessEvalError, match="cannot read price file"):
        load_prices(tmp_path / "missing.yaml")


def test_usage_sums_the_verdicts_and_prices_them_as_the_runs_model() -> None:
    prices = load_prices()
    spent = [TokenUsage(input=500_000, output=1000), TokenUsage(input=500_000), TokenUsage()]
    verdicts = [
        Verdict(trial=i, seed=i, label="good-peer", outcome=Outcome.COMPLETED, tokens=tokens)
        for i, tokens in enumerate(spent)
    ]
    total = verdict_usage(verdicts, "gpt-4.1", prices)
    assert total.tokens == TokenUsage(input=1_000_000, output=1000)
    assert total.cost_usd == pytest.approx(1.0 * 2.0 + 0.001 * 8.0)
    assert verdict_usage(verdicts, "unpriced", prices).cost_usd is None


def test_budget_stops_new_trials_once_reached() -> None:
    spent = Usage(tokens=TokenUsage(input=900, output=100), exchanges=3, cost_usd=0.5)
    assert budget_exhausted(spent, max_cost=None, max_tokens=None) is None
    assert budget_exhausted(spent, max_cost=1.0, max_tokens=1001) is None
    assert (
        budget_exhausted(spent, max_cost=None, max_tokens=1000) == "token budget reached: 1000 of 1000 tokens used"
    )
    reason = budget_exhausted(spent, max_cost=0.5, max_tokens=None)
    assert reason is not None and reason.startswith("cost budget reached: $0.5000")


def test_a_cost_limit_needs_a_price() -> None:
    check_budget("gpt-4.1", load_prices(), max_cost=1.0)
    check_budget("unpriced", load_prices(), max_cost=None)
    with pytest.raises(HarnessEvalError, match="no price known for model 'unpriced'"):
        check_budget("unpriced", load_prices(), max_cost=1.0)
