"""Text from users and files, made safe to show: control characters become visible escapes.

A model's display_name, a deployment's name, a trace header or a file name can hold terminal
escapes (ESC [2J clears the screen, ESC ] 52 writes the clipboard), C1 controls, bidi
overrides (which reorder what a reader sees) or characters XML cannot hold. Everything
kvplan prints to a terminal, to an error line or into a JUnit file passes through
``printable``: such characters are written as ``\\x1b``, ``\\u202e`` ..., so the text stays
readable and inert. Newlines and tabs are kept (callers that need one line replace them).
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates,
# and the code points XML 1.0 forbids (surrogates, U+FFFE, U+FFFF).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``str(text)`` with every control character written as an escape (``\\x1b``)."""
    return _UNSAFE.sub(_escape, str(text))


def one_line(text: object) -> str:
    """``printable`` on one line: newlines and tabs become spaces."""
    return printable(str(text).replace("\r", " ").replace("\n", " ").replace("\t", " "))
