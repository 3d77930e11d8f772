"""Tokens and what they cost: a price table per model, usage per trial and run from the gateway's log, and the
budget check the runner makes before starting a trial.

Usage comes from the gateway's `model_log.jsonl` rather than from the harness's own report, because the gateway
sees every request (auxiliary ones too, which some CLIs make without telling) and is the same for every harness.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from harness_eval.errors import HarnessEvalError
from harness_eval.fileio import load_yaml
from harness_eval.models import Strict, TokenUsage, Verdict

PER = 1_000_000  # prices are per million tokens


class Price(Strict):
    input: float  # USD per 1M input tokens
    output: float  # USD per 1M output tokens


class PriceTable(Strict):
    as_of: str
    note: str = ""
    models: dict[str, Price]  # exact names, or fnmatch patterns such as "scripted:*"

    def price(self, model: str) -> Price | None:
        """The price of `model`: its exact name, then without a provider prefix ("google/gemini-2.5-pro"), then
        the most specific (longest) matching pattern."""
        names = [model, model.rsplit("/", 1)[-1]]
        for name in names:
            if name in self.models:
                return self.models[name]
        patterns = sorted((p for p in self.models if any(c in p for c in "*?[")), key=len, reverse=True)
        for pattern in patterns:
            if any(fnmatch.fnmatchcase(name, pattern) for name in names):
                return self.models[pattern]
        return None


class Usage(Strict):
    tokens: TokenUsage = TokenUsage()
    exchanges: int = 0
    cost_usd: float | None = 0.0  # None once any part of it had no known price

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            tokens=TokenUsage(
                input=self.tokens.input + other.tokens.input, output=self.tokens.output + other.tokens.output
            ),
            exchanges=self.exchanges + other.exchanges,
            cost_usd=None if self.cost_usd is None or other.cost_usd is None else self.cost_usd + other.cost_usd,
        )


def load_prices(path: Path | None = None) -> PriceTable:
    """The built-in table, with a user's file laid over it: their models replace or add to ours."""
    builtin = _parse(resources.files("harness_eval").joinpath("pricing.yaml").read_text(), "built-in pricing.yaml")
    if path is None:
        return builtin
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise HarnessEvalError(f"cannot read price file {path}: {exc.strerror}") from exc
    user = _parse(text, str(path))
    return PriceTable(as_of=user.as_of, note=user.note, models={**builtin.models, **user.models})


def _parse(text: str, where: str) -> PriceTable:
    try:
        return PriceTable.model_validate(load_yaml(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise HarnessEvalError(
            f"{where} is not a price table (as_of: ..., models: {{name: {{input: USD, output: USD}}}}): {exc}"
        ) from exc


def cost(model: str, tokens: TokenUsage, prices: PriceTable) -> float | None:
    """USD for `tokens` of `model`; None when the table has no price for it (unknown is not free)."""
    price = prices.price(model)
    if price is None:
        return None
    return (tokens.input * price.input + tokens.output * price.output) / PER


def verdict_usage(verdicts: Iterable[Verdict], model: str, prices: PriceTable) -> Usage:
    """Trials' tokens and estimated cost from their verdicts, as the run's summary and its budget count them, and
    priced as `model`, the run's model (scripted runs ask the gateway for a neutral name). Verdicts, not the
    gateway logs: a report of 10,000 trials must not read every log to show one total."""
    seen = list(verdicts)
    total = TokenUsage(input=sum(v.tokens.input for v in seen), output=sum(v.tokens.output for v in seen))
    return Usage(tokens=total, cost_usd=cost(model, total, prices))


def check_budget(model: str, prices: PriceTable, max_cost: float | None) -> None:
    """Before a run: a cost limit on a model without a price could never stop anything."""
    if max_cost is not None and prices.price(model) is None:
        raise HarnessEvalError(f"--max-cost: no price known for model {model!r}; add it with a price file")


def budget_exhausted(spent: Usage, max_cost: float | None, max_tokens: int | None) -> str | None:
    """Why no new trial may start, or None. A trial already running is allowed to finish, so a run can end a
    little over its budget: stopping mid-trial would throw away a result that has already been paid for."""
    if max_tokens is not None and spent.tokens.total >= max_tokens:
        return f"token budget reached: {spent.tokens.total} of {max_tokens} tokens used"
    if max_cost is not None and spent.cost_usd is not None and spent.cost_usd >= max_cost:
        return f"cost budget reached: ${spent.cost_usd:.4f} of ${max_cost:.4f} spent (estimated prices)"
    return None
