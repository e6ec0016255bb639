"""Writing output files all-or-nothing: a failed or interrupted write never leaves a
partial file, and never a temporary file beside it.

``atomic_write`` writes a temporary file next to the target and moves it over the target
when complete. On any error, and on SIGTERM, SIGINT or SIGHUP (the CLI turns those into an
exception that unwinds the stack, see kvplan.cli.main), the temporary file is removed and
the target is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from kvplan.errors import BadInputError

def _stat(path: Path, what: str) -> os.stat_result | None:
    """``os.stat`` (following links), None when nothing is there; one-line BadInputError for
    a symlink loop, a name too long, a component that is not a folder ..."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise BadInputError(f"{what} {path}: {err.strerror or err}") from None


def check_writable(path: str | os.PathLike, what: str = "output") -> Path:
    """Fail early, with one line, if ``path`` cannot be written. Returns the path to write:
    a symbolic link is followed (its target is replaced, not the link); anything existing
    that is not a regular file (a device, a FIFO, /dev/null) is refused, since the file is
    written beside it and moved over it."""
    path = Path(path)
    if os.path.islink(path):
        path = Path(os.path.realpath(path))  # a loop stays a loop: _stat says so
    st = _stat(path, what)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise BadInputError(f"{what} {path}: is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise BadInputError(f"{what} {path}: not a regular file (kvplan writes files; use a file path)")
    parent = path.parent if str(path.parent) else Path(".")
    parent_st = _stat(parent, what)
    if parent_st is None or not stat.S_ISDIR(parent_st.st_mode):
        raise BadInputError(f"{what} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (st is not None and not os.access(path, os.W_OK)):
        raise BadInputError(f"{what} {path}: not writable")
    return path


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], what: str = "output") -> Path:
    """Call ``write(tmp_path)`` to produce the file, then move it over ``path``.

    On any error or interruption the temporary file is removed and ``path`` is left as it was."""
    path = check_writable(path, what)
    tmp = None
    try:
        # The temporary file is created exclusively (as mkstemp does) under a name chosen before
        # it exists, so an exception at any point (a signal becomes one between any two
        # bytecodes) finds it to remove. A short prefix: a long target's name plus the suffix
        # must still fit the file system's 255-byte limit.
        while True:
            tmp = path.parent / f".{path.name[:64]}.{secrets.token_hex(4)}.tmp"
            try:
                os.close(os.open(tmp, _CREATE, 0o600))
                break
            except FileExistsError:
                continue
            except OSError as err:
                raise BadInputError(f"{what} {path}: cannot write there ({err.strerror or err})") from None
        write(str(tmp))
        os.chmod(tmp, _file_mode(path))  # created 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(err, OSError):  # a full disk, a vanished folder ...: one line, not a traceback
            raise BadInputError(f"{what} {path}: cannot write ({err.strerror or err})") from None
        raise
    return path


def _file_mode(path: Path) -> int:
    """The mode a plain ``open(path, "w")`` would give: the old file's, or 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def atomic_write_text(path: str | os.PathLike, text: str, what: str = "output") -> Path:
    def _write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    return atomic_write(path, _write, what)
