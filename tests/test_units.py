"""Parsing of token counts and memory sizes: exact integers, one-line errors."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvplan.errors import BadInputError
from kvplan.limits import MAX_TOKENS
from kvplan.units import format_bytes, format_tokens, parse_bytes, parse_list, parse_tokens


@pytest.mark.parametrize(
    "text, tokens",
    [("32k", 32768), ("1M", 1048576), ("1m", 1048576), ("8K", 8192), ("4096", 4096), ("1.5k", 1536),
     ("128k", 131072), ("1_000", 1000), (7, 7), ("0.5k", 512)],
)
def test_parse_tokens(text, tokens):
    assert parse_tokens(text) == tokens


@pytest.mark.parametrize("text", ["0", "-1", "-32k", "1.0001k", "abc", "", "3q", "1.5", True])
def test_parse_tokens_rejects(text):
    with pytest.raises(BadInputError) as err:
        parse_tokens(text, "--ctx")
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("--ctx")


@pytest.mark.parametrize(
    "text, n",
    [
        ("80GB", 80 * 10**9),
        ("80 GB", 80 * 10**9),
        ("24GiB", 24 * 2**30),
        # 79.19 GiB = 79.19 * 1,073,741,824 = 85,029,615,042.56 -> whole bytes, rounded down
        ("79.19GiB", 85_029_615_042),
        ("512", 512),
        ("1KiB", 1024),
        ("1.5MB", 1_500_000),
        (4096, 4096),
        (1.5, 1),
    ],
)
def test_parse_bytes(text, n):
    assert parse_bytes(text) == n


@pytest.mark.parametrize("text", ["0GB", "-1GiB", "12XB", "lots", "", float("nan"), float("inf")])
def test_parse_bytes_rejects(text):
    with pytest.raises(BadInputError):
        parse_bytes(text)


def test_parse_list():
    assert parse_list("4k,8k, 32k", parse_tokens, "--ctx") == [4096, 8192, 32768]
    for bad in ("", "4k,,8k", "4k,"):
        with pytest.raises(BadInputError):
            parse_list(bad, parse_tokens, "--ctx")


def test_format():
    assert format_bytes(2**30) == "1.00 GiB"
    assert format_bytes(80 * 2**30) == "80.00 GiB"
    assert format_bytes(80 * 10**9, binary=False) == "80.00 GB"
    assert format_bytes(512) == "512 B"
    assert format_tokens(32768) == "32k"
    assert format_tokens(1 << 20) == "1M"
    assert format_tokens(1000) == "1,000"


@given(st.integers(min_value=1, max_value=MAX_TOKENS))
def test_tokens_round_trip(n):
    assert parse_tokens(format_tokens(n).replace(",", "")) == n
