"""Turn the shared load and workload options into typed objects (for bench and simulate)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from ..errors import InvalidValueError
from ..loadtest.load import LoadProfile
from ..loadtest.records import RequestRecord
from ..loadtest.slo import SLO, parse_slo
from ..loadtest.workload import Lengths, WorkloadSpec


def one_model(positional: str | None, option: str | None, what: str = "a model") -> str:
    """The model given as MODEL or as --model (the same one, if both)."""
    if positional and option and positional != option:
        raise InvalidValueError(
            f"two models given ({positional!r} and --model {option!r})", "give the model once"
        )
    model = positional or option
    if not model:
        raise InvalidValueError("no model given", f"pass MODEL or --model: {what}")
    return model


def write_csv(
    result_file: Path | None, csv_path: Path, records: list[RequestRecord] | None = None
) -> None:
    """Per-request CSV of a result file (or of records already read)."""
    from ..loadtest.results import read_results
    from ..report.bench_view import write_csv as write

    if records is None and result_file is not None:
        records = read_results([result_file]).records
    write(records or [], csv_path)


def numbers(text: str | None, kind: type, flag: str) -> list[Any]:
    if not text:
        return []
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InvalidValueError(
            f"{flag} takes comma-separated numbers, not {text!r}", f"write e.g. {flag} 1,2,4,8"
        ) from None
    if any(v <= 0 for v in values):
        raise InvalidValueError(f"{flag} values must be positive", f"write e.g. {flag} 1,2,4,8")
    return values


def positive(**values: float | int | None) -> None:
    for name, value in values.items():
        flag = "--" + name.replace("_", "-")
        if value is not None and value <= 0:
            raise InvalidValueError(f"{flag} must be positive, not {value}", f"give {flag} > 0")


@dataclass(frozen=True)
class Load:
    """The load options, read: one profile, or a sweep of users or rates."""

    profile: LoadProfile
    sweep_users: list[int]
    sweep_rates: list[float]


def load(
    requests: int | None,
    repeat: int,
    users: int | None,
    concurrency: int | None,
    rate: float | None,
    burstiness: float,
    duration: float | None,
    sweep_users: str | None,
    sweep_rates: str | None,
) -> Load:
    return Load(
        load_profile(requests, repeat, users, concurrency, rate, burstiness, duration),
        numbers(sweep_users, int, "--sweep-users"),
        numbers(sweep_rates, float, "--sweep-rates"),
    )


def load_profile(
    requests: int | None,
    repeat: int,
    users: int | None,
    concurrency: int | None,
    rate: float | None,
    burstiness: float,
    duration: float | None,
) -> LoadProfile:
    positive(
        requests=requests,
        repeat=repeat,
        users=users,
        concurrency=concurrency,
        rate=rate,
        duration=duration,
    )
    if users:
        return LoadProfile("users", requests=users)
    if concurrency:
        return LoadProfile(
            "concurrency", requests=requests, concurrency=concurrency, duration_s=duration
        )
    if rate:
        return LoadProfile(
            "rate", requests=requests, rate=rate, burstiness=burstiness, duration_s=duration
        )
    return LoadProfile("single", requests=(requests or 1) * repeat, duration_s=duration)


def slos(texts: list[str] | None) -> list[SLO]:
    return [parse_slo(s) for s in texts or []]


def workload_spec(
    prompt_tokens: str,
    output_tokens: str | None,
    dataset: Path | None,
    dataset_format: str,
    seed_prompts: bool,
    natural_length: bool,
    extra_body: str | None,
    seed: int,
) -> WorkloadSpec:
    if dataset_format not in ("jsonl", "sharegpt"):
        raise InvalidValueError(
            f"unknown --dataset-format {dataset_format!r}", "use jsonl or sharegpt"
        )
    body: dict[str, Any] = {}
    if extra_body:
        try:
            body = json.loads(extra_body)
        except json.JSONDecodeError as exc:
            raise InvalidValueError(
                f"--extra-body is not JSON ({exc.msg})", "pass a JSON object"
            ) from None
        if not isinstance(body, dict):
            raise InvalidValueError("--extra-body must be a JSON object", "wrap it in {...}")
    if dataset is not None and not dataset.is_file():
        raise InvalidValueError(f"cannot read dataset {dataset}", "check the --dataset path")
    source = dataset_format if dataset else ("seed" if seed_prompts else "random")
    return WorkloadSpec(
        source=source,
        prompt_tokens=Lengths.parse(prompt_tokens, "--prompt-tokens"),
        output_tokens=Lengths.parse(output_tokens or "100", "--output-tokens"),
        dataset=dataset,
        force_length=not (natural_length or (seed_prompts and output_tokens is None)),
        seed=seed,
        extra_body=tuple(body.items()),
    )


def given_settings(ctx: typer.Context) -> dict[str, Any]:
    """The `vllm serve` settings among a command's options that its user gave (not defaults)."""
    from ..vllm.serve_config import ServeConfig

    fields = set(ServeConfig.__dataclass_fields__)
    given = {}
    for name, value in ctx.params.items():
        source = ctx.get_parameter_source(name)
        if name in fields and source is not None and source.name != "DEFAULT":
            given[name] = value
    return given
