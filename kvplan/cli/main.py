"""The `kvplan` command: typer app, command registration and the one error mapping.

Commands are thin: parse, one library call, render. Errors from the library are
``KvplanError`` subclasses; here they become one line on stderr and an exit code
(0 ok, 1 does-not-fit / check failed, 2 bad input or usage). Set KVPLAN_DEBUG=1 for
the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from kvplan.errors import KvplanError

# typer >= 0.2x vendors click as typer._click; older typer uses click itself. Take the
# exception classes from wherever typer's own BadParameter lives.
_cx = importlib.import_module(typer.BadParameter.__module__)

class _Never(Exception):
    """Stands in for exception classes this click/typer version does not have."""


_Abort = getattr(_cx, "Abort", _Never)

app = typer.Typer(
    name="kvplan",
    help=(
        "Plan KV-cache memory for LLM serving: exact footprints, GPU capacity, "
        "fragmentation, and real Triton kernels to check the numbers.\n\n"
        "Examples:\n\n"
        "* `kvplan size llama3-8b --ctx 32k`\n"
        "* `kvplan capacity llama3-70b --gpu h100 --tp 4`\n"
        "* `kvplan check deploy/capacity.yaml`\n\n"
        "Exit codes: 0 ok, 1 does not fit / check failed, 2 bad input. "
        "Set KVPLAN_DEBUG=1 for tracebacks."
    ),
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Modules under kvplan.cli that define ``register(app)``; order is the help order.
COMMAND_MODULES = ["size", "models", "sweep", "capacity", "gpus", "explain", "speed", "recommend", "fragment",
                   "measure"]


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"kvplan.cli.{name}").register(app)


_register()


def _debug() -> bool:
    return os.environ.get("KVPLAN_DEBUG", "") not in ("", "0")


def _fail(message: str, code: int) -> int:
    sys.stdout.flush()
    print(f"kvplan: {message}", file=sys.stderr)
    return code


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises, except with KVPLAN_DEBUG=1)."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        result = app(args=args or ["--help"], prog_name="kvplan", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except _cx.UsageError as err:
        if _debug():
            raise
        hint = f" (see '{err.ctx.command_path} --help')" if err.ctx else ""
        return _fail(f"error: {err.format_message()}{hint}".replace("\n", " "), 2)
    except _cx.ClickException as err:  # e.g. BadParameter outside a context
        if _debug():
            raise
        return _fail(f"error: {err.format_message()}".replace("\n", " "), 2)
    except _Abort:
        return _fail("aborted", 130)
    except KvplanError as err:
        if _debug():
            raise
        prefix = "" if err.exit_code == 1 else "error: "
        return _fail(f"{prefix}{err}".replace("\n", " "), err.exit_code)
    except BrokenPipeError:
        # `kvplan models | head`: the reader went away; nothing more to say.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as err:  # a bug: still one line, but a distinct exit code
        if _debug():
            raise
        return _fail(
            f"internal error: {type(err).__name__}: {err} (set KVPLAN_DEBUG=1 for the traceback)".replace("\n", " "),
            3,
        )


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":  # pragma: no cover
    main()
