"""Every `$ kvplan ...` example in docs/*.md and README.md prints what the page shows.

The convention (docs/README.md, "Examples are tested"):

- A fenced block (```, ```console or ```text) with a `$ ` line that runs kvplan is a *session*: its
  `$ ` commands run in order in one bash shell (stderr merged into stdout, stdin empty, not a
  terminal, COLUMNS unset: tables 200 columns wide), in a fresh temporary folder that links
  the repository's top-level entries (tests/, examples/, docs/, ...), so `tests/fixtures/...`
  paths read as they do from the repository root and files a command writes stay out of it.
- The lines under a command are checked in order against what it printed, whitespace
  collapsed, each as a part of the output after the previous one; a `...` line skips, and
  `[exit N]` checks the exit status. `echo $?` after a command sees that command's status.
- A block right after `<!-- file: NAME -->` is written to NAME in the session's folder of
  every example on that page (a plan or a config the page shows once and then uses).
- `<!-- docs-check: skip: REASON -->` right before a block skips its examples with REASON
  (a downloaded checkpoint, the Hub: what CI cannot do). Examples reading the public traces under
  /work/shared/traces skip where those are absent.

One case per command, named by the page's path from the repository root and the line:
docs/capacity.md:12, README.md:44.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: The pages whose examples run, as paths from the repository root: every docs page and the README.
PAGES = tuple(sorted(f"docs/{p.name}" for p in DOCS.glob("*.md"))) + ("README.md",)
CHECKED_FENCES = ("", "console", "text")
FILE_MARK = re.compile(r"^<!--\s*file:\s*(\S+)\s*-->$")
SKIP_MARK = re.compile(r"^<!--\s*docs-check:\s*skip:\s*(.+?)\s*-->$")
EXIT_LINE = re.compile(r"\[exit (\d+)\]")
RUNS_KVPLAN = re.compile(r"(\w+=\S*\s+)*kvplan(\s|$)")  # `kvplan ...`, `HF_HUB_OFFLINE=1 kvplan ...`
SHARED_PATH = re.compile(r"/work/shared/[^\s'\"|;)]+")
#: A whole session; the slowest block (prefix-caching.md's replay of the 12,031-request Mooncake
#: trace, twice) takes about 35 s of CPU.
TIMEOUT_S = 600


@dataclass(frozen=True)
class Command:
    line: int  # 1-based line of the `$ ` on its page
    text: str  # the command, continuation lines joined with newlines
    shown: tuple[str, ...]  # the lines the page shows under it


@dataclass(frozen=True)
class Block:
    page: str  # the page's path from the repository root (docs/capacity.md, README.md)
    line: int  # 1-based line of the opening fence
    commands: tuple[Command, ...]
    skip: str | None

    def __repr__(self) -> str:
        return f"<block at {self.page}:{self.line}, {len(self.commands)} command(s)>"


def _fences(lines: list[str]):
    """(opening line index, info string, body lines, the marker line before it) per fence."""
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            info = lines[i][3:].strip()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            mark = lines[i - 1].strip() if i > 0 else ""
            yield i, info, lines[i + 1 : j], mark
            i = j + 1
        else:
            i += 1


def _commands(body: list[str], first_line: int) -> tuple[Command, ...]:
    out = []
    i = 0
    while i < len(body):
        if not body[i].startswith("$ "):
            i += 1
            continue
        start = i
        text = [body[i][2:]]
        while text[-1].endswith("\\") and i + 1 < len(body):
            i += 1
            text.append(body[i])
        j = i + 1
        while j < len(body) and not body[j].startswith("$ "):
            j += 1
        out.append(Command(first_line + start, "\n".join(text), tuple(body[i + 1 : j])))
        i = j
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _page(page: str) -> tuple[dict[str, str], tuple[Block, ...]]:
    """A page's files ({name: text}) and its checked blocks."""
    lines = (ROOT / page).read_text(encoding="utf-8").split("\n")
    files: dict[str, str] = {}
    blocks = []
    for i, info, body, mark in _fences(lines):
        file_mark = FILE_MARK.match(mark)
        if file_mark:
            name = file_mark.group(1)
            assert name not in files, f"{page}: two blocks write {name}"
            # inside the session's folder, beside (never inside) the repository's linked entries
            assert not Path(name).is_absolute() and ".." not in Path(name).parts, f"{page}: {name}"
            assert not (ROOT / Path(name).parts[0]).exists(), f"{page}: {name} would write into the repository"
            files[name] = "\n".join(body) + "\n"
            continue
        commands = _commands(body, i + 2)
        if info not in CHECKED_FENCES or not any(RUNS_KVPLAN.match(c.text) for c in commands):
            continue
        skip_mark = SKIP_MARK.match(mark)
        blocks.append(Block(page, i + 1, commands, skip_mark.group(1) if skip_mark else None))
    return files, tuple(blocks)


def _cases():
    for block in _all_blocks():
        for index, command in enumerate(block.commands):
            yield pytest.param(block, index, id=f"{block.page}:{command.line}")


def _skip_reason(block: Block) -> str | None:
    if block.skip:
        return block.skip
    for path in SHARED_PATH.findall("\n".join(c.text for c in block.commands)):
        if not Path(path).exists():
            return f"reads {path} (the public traces, ../shared/traces), absent here"
    return None


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    # tables as the pages show them (200 columns off a terminal), no colour, no traceback,
    # no spec cache, no Hub (offline, with an empty cache)
    for key in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "KVPLAN_DEBUG", "HF_ENDPOINT", "HF_TOKEN",
                "HF_HOME"):
        env.pop(key, None)
    env["KVPLAN_NO_CACHE"] = "1"
    env["HF_HUB_OFFLINE"] = "1"
    env["HF_HUB_CACHE"] = str(work / ".hf-cache")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _script(block: Block) -> str:
    """One bash session: each command's output between markers, with its exit status."""
    parts = ["exec 2>&1", "__rc=0"]
    for n, command in enumerate(block.commands):
        parts.append(f"printf '\\n@@docs-check begin {n}@@\\n'; (exit $__rc)")
        parts.append(command.text)
        parts.append(f"__rc=$?; printf '\\n@@docs-check end {n} %d@@\\n' \"$__rc\"")
    return "\n".join(parts) + "\n"


def _all_blocks() -> list[Block]:
    return [block for page in PAGES for block in _page(page)[1]]


@pytest.fixture(scope="module")
def run_block(request):
    """block -> (output, exit status) per command. The sessions of the blocks this pytest run
    selected start on a thread pool as wide as the machine when the first example is checked
    (each is a chain of kvplan processes: about 150 s of CPU for all the pages); those not yet
    started are dropped when the module ends (-x). Under pytest-xdist each worker runs the
    blocks of the cases it is handed, one at a time."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        yield _session
        return
    selected = {item.callspec.params["block"] for item in request.session.items
                if getattr(item, "callspec", None) is not None and isinstance(item.callspec.params.get("block"), Block)}
    blocks = [block for block in _all_blocks() if block in selected and not _skip_reason(block)]
    # trace replays first: the longest (prefix-caching.md's tiers, ~35 s of CPU) sets the
    # wall time unless it starts early
    blocks.sort(key=lambda block: not any("--workload /" in c.text for c in block.commands))
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    futures = {block: pool.submit(_session, block) for block in blocks}

    def run(block: Block) -> tuple[tuple[str, int], ...]:
        return futures[block].result() if block in futures else _session(block)

    yield run
    pool.shutdown(wait=True, cancel_futures=True)


def _link_tree(root: Path, work: Path) -> None:
    """The repository's top-level entries linked into work, except docs/img: an empty folder
    there, so a `--plot docs/img/x.png` example writes into the session, not the repository."""
    for entry in root.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.name == "docs":
            (work / "docs").mkdir()
            for child in entry.iterdir():
                if child.name == "img":
                    (work / "docs" / "img").mkdir()
                else:
                    (work / "docs" / child.name).symlink_to(child)
        else:
            (work / entry.name).symlink_to(entry)


@functools.lru_cache(maxsize=None)
def _session(block: Block) -> tuple[tuple[str, int], ...]:
    """Runs a block's session; (output, exit status) per command."""
    files = _page(block.page)[0]
    with tempfile.TemporaryDirectory(prefix="kvplan-docs-") as tmp:
        work = Path(tmp)
        _link_tree(ROOT, work)
        for name, text in files.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(text, encoding="utf-8")
        result = subprocess.run(["bash", "-c", _script(block)], cwd=work, env=_env(work), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT_S)
    text = result.stdout.decode("utf-8", errors="replace")
    out = []
    for n in range(len(block.commands)):
        m = re.search(rf"\n@@docs-check begin {n}@@\n(.*?)\n@@docs-check end {n} (\d+)@@\n", text, re.S)
        assert m, f"{block.page}:{block.line}: the session stopped before command {n + 1}:\n{text[-2000:]}"
        out.append((m.group(1), int(m.group(2))))
    return tuple(out)


def _first_mismatch(shown: tuple[str, ...], output: str, rc: int) -> str | None:
    """The first shown line that is not in the output (after the previous one), else None.
    A command shown with no output at all must succeed (exit 0)."""
    if not any(line.strip() for line in shown) and rc != 0:
        return f"(no output shown, so exit 0; the exit status was {rc})"
    flat = " ".join(output.split())
    pos = 0
    for line in shown:
        want = " ".join(line.split())
        if not want or want == "...":
            continue
        exit_line = EXIT_LINE.fullmatch(want)
        if exit_line:
            if int(exit_line.group(1)) != rc:
                return f"{want} (the exit status was {rc})"
            continue
        k = flat.find(want, pos)
        if k < 0:
            return want
        pos = k + len(want)
    return None


@pytest.mark.parametrize("block, index", list(_cases()))
def test_docs_example_prints_what_the_page_shows(block: Block, index: int, run_block):
    command = block.commands[index]
    reason = _skip_reason(block)
    if reason:
        pytest.skip(reason)
    output, rc = run_block(block)[index]
    missing = _first_mismatch(command.shown, output, rc)
    assert missing is None, (
        f"{block.page}:{command.line}: `$ {command.text}` did not print\n    {missing}\n"
        f"it printed (exit {rc}):\n{output}")


def test_the_pages_hold_examples():
    """The parser finds the examples (a change to it cannot silently skip them all)."""
    cases = list(_cases())
    assert len(cases) >= 140
    assert {c.values[0].page for c in cases} >= {"docs/capacity.md", "docs/size.md", "docs/speed.md",
                                                 "docs/one-answer.md", "README.md"}


def test_the_readme_examples_run():
    """README.md's quick start and its list of commands are sessions like the docs pages' (the
    Hub example skipped with its reason)."""
    blocks = _page("README.md")[1]
    commands = [c.text for b in blocks if not b.skip for c in b.commands]
    assert commands[0] == "kvplan size llama3.1-8b --ctx 32k" and len(commands) >= 15
    assert [b.skip for b in blocks if b.skip] == [
        "reads the Hugging Face Hub (tests/test_hub.py runs Hub ids against a local stand-in)"]


def test_matching_rule_can_fail():
    out = "kvplan: KV pool 35,376 tokens\n  done\n"
    assert _first_mismatch(("KV pool   35,376 tokens", "...", "done", "[exit 0]"), out, 0) is None
    assert _first_mismatch(("KV pool 33,712 tokens",), out, 0) == "KV pool 33,712 tokens"
    assert _first_mismatch(("done", "KV pool 35,376 tokens"), out, 0) == "KV pool 35,376 tokens"  # order
    assert _first_mismatch(("[exit 1]",), out, 0) == "[exit 1] (the exit status was 0)"
    assert _first_mismatch((), out, 0) is None
    assert _first_mismatch(("",), out, 2) == "(no output shown, so exit 0; the exit status was 2)"


def test_a_session_keeps_its_state_and_stays_out_of_the_repository():
    block = Block("README.md", 1, (
        Command(1, "printf 'a: 1\\na: 2\\n' > dup.yaml", ()),
        Command(2, "kvplan size dup.yaml", ("kvplan: error: dup.yaml: malformed YAML (line 2, column 1)", "[exit 2]")),
        Command(3, "echo $?", ("2",)),
        Command(4, "ls docs/img | wc -l; test -L tests", ("0", "[exit 0]")),
    ), None)
    results = _session(block)
    for command, (output, rc) in zip(block.commands, results):
        assert _first_mismatch(command.shown, output, rc) is None, (command.text, output, rc)
    assert not (ROOT / "dup.yaml").exists()
