"""The `kvplan` command: typer app, command registration and the one error mapping.

Commands are thin: parse, one library call, render. Errors from the library are
``KvplanError`` subclasses; here they become one line on stderr and an exit code
(0 ok, 1 does-not-fit / check failed, 2 bad input or usage). Set KVPLAN_DEBUG=1 for
the traceback.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
import threading

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


@app.callback()
def _group() -> None:
    """Keeps the app a group of commands even when only one is registered (see _register)."""


#: Each command and the module under kvplan.cli whose ``register(app)`` defines it, in the
#: order `kvplan --help` lists them (tests/test_packaging.py checks this against register()).
COMMANDS = {
    "size": "size", "models": "models", "show": "models", "schema": "models", "import": "models",
    "sweep": "sweep", "capacity": "capacity", "check": "capacity", "gpus": "gpus", "explain": "explain",
    "speed": "speed", "calibrate": "calibrate", "recommend": "recommend", "fragment": "fragment", "measure": "measure",
    "report": "measure",
}
COMMAND_MODULES = list(dict.fromkeys(COMMANDS.values()))
_registered: set[str] = set()


def _register(modules=None) -> None:
    """Import and register command modules (default: all). Planning stays instant: a run of
    one command imports only that command's module (``_run``), not the fifteen others'
    option tables."""
    for name in modules or COMMAND_MODULES:
        if name not in _registered:
            _registered.add(name)
            importlib.import_module(f"kvplan.cli.{name}").register(app)


def _modules_for(args: list[str]) -> list[str] | None:
    """The one module a command line needs, or None (help, an unknown name: all of them)."""
    first = next((a for a in args if not a.startswith("-")), None)
    if first is None or first not in COMMANDS or any(a in ("-h", "--help") for a in args[: args.index(first)]):
        return None
    return [COMMANDS[first]]


def _debug() -> bool:
    return os.environ.get("KVPLAN_DEBUG", "") not in ("", "0")


def _fail(message: str, code: int) -> int:
    """One line on stderr (control characters escaped, newlines folded) and ``code``."""
    from kvplan.text import one_line

    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        _silence_stdout()
    try:
        print(f"kvplan: {one_line(message)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass  # stderr itself is closed or full: the exit code still says it
    return code


class _Signalled(BaseException):
    """SIGTERM, SIGINT or SIGHUP arrived: unwinds the stack like KeyboardInterrupt, so every
    ``kvplan.outputs.atomic_write`` in progress removes its temporary file on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP")


def _on_signal(signum, _frame) -> None:
    # Later signals must not interrupt the clean-up of the first: ignore them from now on
    # (run() restores the previous handlers when it returns).
    for name in _SIGNALS:
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)
    raise _Signalled(signum)


def _catch_signals() -> dict:
    """Route SIGTERM (a CI cancel or timeout), SIGINT and SIGHUP to ``_Signalled``; returns
    the previous handlers. Only the main thread can set handlers; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for name in _SIGNALS:
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            previous[sig] = signal.signal(sig, _on_signal)
        except (OSError, ValueError):
            pass
    return previous


def _restore_signals(previous: dict) -> None:
    for sig, handler in previous.items():
        try:
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        except (OSError, ValueError):
            pass


def _open_streams() -> None:
    """A closed stdout/stderr (``kvplan ... >&-``) reads as /dev/null; text a stream's encoding
    cannot hold (PYTHONIOENCODING=ascii and a model named 'Llamα') is written as \\u escapes."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process
            continue
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, OSError, ValueError):
            pass


def _silence_stdout() -> None:
    """After a failed write to stdout (closed pipe, full disk), point file descriptor 1 at
    /dev/null, so that Python's final flush at exit does not fail again with a second message."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


#: Exit status after the reader of stdout went away: 128 + SIGPIPE, as a shell reports it.
BROKEN_PIPE_EXIT = 128 + 13


def _broken_pipe() -> int:
    _silence_stdout()
    return BROKEN_PIPE_EXIT


#: errno values of a write that failed (full disk, quota, closed descriptor, I/O error).
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EBADF, errno.EIO}


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises, except with KVPLAN_DEBUG=1).

    0 ok, 1 does not fit / check failed, 2 bad input (or an output that cannot be written),
    3 a bug; 128 + N after signal N (SIGINT 130, SIGTERM 143), with every partial output
    file removed. A reader that closes the pipe early (``kvplan models | head -1``) ends the
    command quietly with 141, the status a shell reports for other Unix tools stopped by
    SIGPIPE (128 + 13): never 0 or 1, which would claim a verdict that was not printed."""
    args = sys.argv[1:] if argv is None else list(argv)
    _open_streams()
    previous = _catch_signals()
    try:
        code = _run(args)
        sys.stdout.flush()  # a full disk shows here, not as a second error at exit
        return code
    except BrokenPipeError:
        return _broken_pipe()
    except SystemExit:
        # typer turns EPIPE into sys.exit(1) after wrapping the streams in PacifyFlushWrapper.
        if type(sys.stdout).__name__ != "PacifyFlushWrapper":
            raise
        sys.stdout, sys.stderr = (getattr(s, "wrapped", s) for s in (sys.stdout, sys.stderr))
        return _broken_pipe()
    except _Signalled as sig:
        return _fail(f"interrupted by {signal.Signals(sig.signum).name}", 128 + sig.signum)
    except OSError as err:
        if _debug():
            raise
        _silence_stdout()
        return _fail(f"error: cannot write to stdout ({err.strerror or err})", 2)
    finally:
        _restore_signals(previous)


_built: dict = {}


def _command():
    """The click command of the registered command modules, built once per set of modules:
    typer rebuilds it from every command's signature on each ``app()`` call (~14 ms, paid by
    every in-process ``run``: tests, notebooks, scripts that call kvplan repeatedly)."""
    import typer.main

    key = frozenset(_registered)
    if _built.get("key") != key:
        _built.update(key=key, command=typer.main.get_command(app))
    return _built["command"]


def _run(args: list[str]) -> int:
    _register(_modules_for(args))
    try:
        result = _command()(args=args or ["--help"], prog_name="kvplan", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except _cx.UsageError as err:
        if _debug():
            raise
        hint = f" (see '{err.ctx.command_path} --help')" if err.ctx else ""
        return _fail(f"error: {err.format_message()}{hint}", 2)
    except _cx.ClickException as err:  # e.g. BadParameter outside a context
        if _debug():
            raise
        return _fail(f"error: {err.format_message()}", 2)
    except _Abort:
        return _fail("aborted", 130)
    except KvplanError as err:
        if _debug():
            raise
        prefix = "" if err.exit_code == 1 else "error: "
        return _fail(f"{prefix}{err}", err.exit_code)
    except BrokenPipeError:
        raise  # run() ends quietly
    except OSError as err:
        if _debug():
            raise
        if err.filename is None and err.errno in _WRITE_ERRNOS:
            raise  # a write to stdout: run() says so
        where = f"{err.filename}: " if err.filename is not None else ""
        return _fail(f"error: {where}{err.strerror or err}", 2)
    except ModuleNotFoundError as err:
        if _debug() or err.name not in _REQUIRED:
            return _internal(err)
        return _fail(f"error: kvplan needs {err.name}, one of its dependencies, and this Python has none; install "
                     f"it with: pip install {_REQUIRED[err.name]} (or reinstall kvplan)", 2)
    except Exception as err:  # a bug: still one line, but a distinct exit code
        return _internal(err)


#: kvplan's required dependencies that are imported on first use (pyproject.toml
#: [project] dependencies), by module name: the distribution to install.
_REQUIRED = {"pydantic": "pydantic", "pydantic_core": "pydantic", "yaml": "pyyaml"}


def _internal(err: Exception) -> int:
    if _debug():
        raise err
    return _fail(f"internal error: {type(err).__name__}: {err} (set KVPLAN_DEBUG=1 for the traceback)", 3)


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":  # pragma: no cover
    main()
