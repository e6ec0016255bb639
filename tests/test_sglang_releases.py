"""SGLang's modelled releases, one parametrised test each: every release in kvplan.engines.sglang.RELEASES
resolves by name to itself with exactly one row of every rule, and the post release after it is refused; the
published releases between modelled ones that kvplan has not modelled (0.5.6.post1, 0.5.6.post2 and 0.5.7 since 0.5.20 and
0.5.21 were modelled) are refused in one line, exit 2, naming what is modelled. Each tests/test_sglang_0_5_N.py opened with its own copy of this; they
differed only in the release, the post release refused (0.5.13.post2, 0.5.14.post1, ...), the GPU of the
command-line refusal (H100; B200 in 0.5.17's) and how much of the modelled list the refusal was checked for."""
from __future__ import annotations

import re

import pytest

from helpers import cli
from kvplan.engines import get_engine
from kvplan.engines.base import Release
from kvplan.engines.sglang import BOOK, RELEASES
from kvplan.errors import BadInputError

#: SGLang's releases from 0.5.6 to 0.5.23 in PyPI's order (`pip index versions sglang` as the findings list
#: it: docs/findings/FINDINGS_h32_sgl516.md for 0.5.14-0.5.18, FINDINGS_h32_sgl518.md for 0.5.17-0.5.20,
#: FINDINGS_h32_sgl520.md for 0.5.19-0.5.23), each with whether kvplan models it. Modelling a release
#: listed here is one line: its flag to True.
ORDER = (
    ("0.5.6", True),
    ("0.5.6.post1", False),  # published, not modelled (pip index versions sglang)
    ("0.5.6.post2", False),
    ("0.5.7", False),
    ("0.5.8", True),
    ("0.5.9", True),
    ("0.5.10", True),
    ("0.5.11", True),
    ("0.5.12", True),
    ("0.5.13", True),
    ("0.5.13.post1", True),
    ("0.5.14", True),
    ("0.5.15", True),
    ("0.5.15.post1", True),
    ("0.5.16", True),
    ("0.5.17", True),
    ("0.5.18", True),
    ("0.5.19", True),
    ("0.5.20", True),  # read against 0.5.19 and 0.5.22: FINDINGS_h33_sgl520.md
    ("0.5.21", True),  # read against 0.5.20 and 0.5.22: FINDINGS_h33_sgl520.md
    ("0.5.22", True),
    ("0.5.23", True),
)
MODELLED = [text for text, modelled in ORDER if modelled]
#: each release ORDER does not model, with the last modelled release before it (0.5.6.post1, 0.5.6.post2 and
#: 0.5.7 since 0.5.20 and 0.5.21 were modelled; the test below must collect a case)
REFUSED = [(next(t for t, m in reversed(ORDER[:i]) if m), text) for i, (text, modelled) in enumerate(ORDER)
           if not modelled]

#: post releases whose every row is the release before them: nothing a rule reads differs
#: (FINDINGS_h32_sgl513.md: 0.5.13.post1, the EAGLE v2 workers; FINDINGS_h32_sgl514.md: 0.5.15.post1)
SAME_ROWS = {"0.5.13.post1": "0.5.13", "0.5.15.post1": "0.5.15"}


def _next_post(text: str) -> str:
    """The first post release of ``text``'s release after every one RELEASES models: 0.5.14 -> 0.5.14.post1,
    0.5.13 and 0.5.13.post1 -> 0.5.13.post2."""
    key = Release.parse(text).key
    posts = [Release.parse(r).key[4] for r in RELEASES if Release.parse(r).key[:4] == key[:4]]
    return f"{text.split('.post')[0]}.post{max(max(posts) + 1, 1)}"


def test_the_refusal_test_has_cases():
    assert [t for _, t in REFUSED] == ["0.5.6.post1", "0.5.6.post2", "0.5.7"]


def test_the_modelled_releases_are_the_ones_order_flags():
    assert [Release.parse(t) for t, _ in ORDER] == sorted(Release.parse(t) for t, _ in ORDER)
    # every release ORDER flags is modelled and no other from 0.5.8 on
    assert [str(r) for r in BOOK.releases if r >= Release.parse(ORDER[0][0])] == MODELLED
    assert get_engine("sglang").name == f"sglang=={MODELLED[-1]}"  # bare sglang: the newest modelled


@pytest.mark.parametrize("text", RELEASES)
def test_each_release_has_one_row_of_every_rule_and_the_next_post_release_is_refused(text):
    engine = get_engine(f"sglang=={text}")
    assert (engine.name, str(engine.release)) == (f"sglang=={text}", text)
    table = BOOK.table(engine.release)  # SpecError where a rule has no row, or two
    assert set(table) == set(BOOK.names)
    post = _next_post(text)
    with pytest.raises(BadInputError, match=re.escape(f"sglang {post} is not a release kvplan models")):
        get_engine(f"sglang=={post}")


@pytest.mark.parametrize("post, base", SAME_ROWS.items())
def test_a_post_release_takes_every_row_of_its_release(post, base):
    rel, old = get_engine(f"sglang=={post}").release, get_engine(f"sglang=={base}").release
    assert rel != old
    assert all(BOOK.rule(n, rel) is BOOK.rule(n, old) for n in BOOK.names)


@pytest.mark.parametrize("gpu", ["h100", "b200"])
@pytest.mark.parametrize("before, text", REFUSED, ids=[f"{t}-after-{b}" for b, t in REFUSED])
def test_a_release_after_a_modelled_one_that_kvplan_does_not_model_is_refused(capsys, gpu, before, text):
    assert str(get_engine(f"sglang=={before}").release) == before
    said = f"sglang {text} is not a release kvplan models; modelled: 0.4.6 to {MODELLED[-1]} ("
    with pytest.raises(BadInputError, match=re.escape(said)) as err:
        get_engine(f"sglang=={text}")
    assert ", ".join(MODELLED) in str(err.value) and "\n" not in str(err.value)
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", gpu, "--engine", f"sglang=={text}")
    assert (code, out) == (2, "") and f"sglang {text} is not a release kvplan models" in err
    assert ", ".join(MODELLED) in err and err.count("\n") == 1
