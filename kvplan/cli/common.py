"""Shared CLI pieces: consoles, JSON output, option types, number formatting."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from kvplan.units import format_bytes, format_tokens

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout (no markup).")]
BlockSizeOpt = Annotated[
    int, typer.Option("--block-size", min=1, help="Tokens per page of the paged cache (vLLM: 16).")
]
TpOpt = Annotated[int, typer.Option("--tp", min=1, help="Tensor-parallel degree (GPUs per stage).")]
PpOpt = Annotated[int, typer.Option("--pp", min=1, help="Pipeline-parallel degree (stages).")]


def console():
    """Rich console on stdout (plain text when stdout is not a terminal)."""
    import os

    from rich.console import Console

    # Piped output: rich would fold tables to 80 columns; keep rows whole instead.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
    return Console(highlight=False, soft_wrap=False, width=width)


def warn(message: str) -> None:
    """Commentary and warnings go to stderr, one line each."""
    print(f"kvplan: warning: {message}", file=sys.stderr)


def warn_assumptions(spec) -> None:
    """One warning line naming what the spec's importer assumed (nothing when it assumed nothing)."""
    if spec.assumptions:
        warn(f"{spec.name}: assumed: " + "; ".join(spec.assumptions))


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def gib(n: int) -> str:
    return format_bytes(n)


def b(n: int) -> str:
    """Exact bytes with separators: 131,072."""
    return f"{n:,}"


def tok(n: int) -> str:
    return format_tokens(n)
