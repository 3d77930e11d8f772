"""Prices, usage from the gateway log, and the budget check the runner makes before starting a trial."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_eval.errors import HarnessEvalError
from harness_eval.fileio import write_jsonl
from harness_eval.models import Exchange, TokenUsage
from harness_eval.pricing import Usage, budget_exhausted, check_budget, cost, load_prices, run_usage, trial_usage

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


def exchange(t: float, tokens: TokenUsage, kind: str = "main") -> Exchange:
    return Exchange(
        t=t,
        api="openai_chat",
        path="/v1/chat/completions",
        model="gpt-4.1",
        kind=kind,
        request={},
        response={},
        tokens=tokens,
    )


def test_usage_sums_every_exchange_of_the_gateway_log(tmp_path: Path) -> None:
    prices = load_prices()
    for n in (1, 2):
        write_jsonl(
            tmp_path / str(n) / "model_log.jsonl",
            [
                exchange(1, TokenUsage(input=300_000, output=1000)),
                exchange(2, TokenUsage(input=200_000), "auxiliary"),
            ],
        )
    (tmp_path / "3").mkdir()  # a trial that never reached the model
    one = trial_usage(tmp_path / "1", "gpt-4.1", prices)
    assert one.tokens == TokenUsage(input=500_000, output=1000) and one.exchanges == 2
    assert one.cost_usd == pytest.approx(0.5 * 2.0 + 0.001 * 8.0)
    total = run_usage([tmp_path / "1", tmp_path / "2", tmp_path / "3"], "gpt-4.1", prices)
    assert total.tokens.total == 1_002_000 and total.exchanges == 4
    assert total.cost_usd == pytest.approx(2 * one.cost_usd)  # type: ignore[operator]
    assert run_usage([tmp_path / "1"], "unpriced", prices).cost_usd is None


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
