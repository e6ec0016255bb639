"""SGLang's request table (ReqToTokenPool, int32 rows of the context length) sits outside
mem_fraction_static. From 0.5.14 a given --max-running-requests is capped only at half the pool's
tokens, so a large one can ask for a table larger than the room SGLang leaves outside its static
pool (review h32b D1): kvplan refuses where even R x context x 4 B exceeds that room, and notes
where it takes more than half of it. Figures: Llama-3.1-8B (131,072 tokens) on an H100, whose
room outside the 0.83 fraction is 14,454,934,733 B."""

from __future__ import annotations

import json

import pytest

from helpers import cli, one_line_error

ROOM = 14_454_934_733


@pytest.mark.parametrize("release", ["0.5.14", "0.5.15", "0.5.17", "0.5.19", "0.5.22", "0.5.23"])
def test_a_table_larger_than_the_room_is_refused(capsys, release):
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", f"sglang=={release}",
                       "--max-num-seqs", "30000")
    assert code == 2
    line = one_line_error(err)
    assert f"at least {30_000 * 131_072 * 4:,} B" in line and f"more than the {ROOM:,} B left outside it" in line


@pytest.mark.parametrize(("seqs", "noted"), [(16_000, True), (12_000, False)])
def test_more_than_half_the_room_is_noted(capsys, seqs, noted):
    # 16,000 x 131,072 x 4 = 8,388,608,000 B > ROOM / 2; 12,000 -> 6,291,456,000 B < ROOM / 2
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "sglang==0.5.14",
                       "--max-num-seqs", str(seqs), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["max_num_seqs"] == seqs
    notes = [n for n in data["notes"] if "request table" in n]
    assert len(notes) == (1 if noted else 0)
    if noted:
        assert f"more than half the {ROOM:,} B left outside it" in notes[0]


def test_releases_that_cap_the_count_by_their_estimate_need_no_check(capsys):
    # 0.5.13 runs at most min(max(int(tokens / context x 512), 2048), 4096) requests of a given count
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "sglang==0.5.13",
                       "--max-num-seqs", "30000", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["max_num_seqs"] <= 4096 and not [n for n in data["notes"] if "request table" in n]


def test_a_shorter_context_makes_room(capsys):
    # 30,000 x 8,192 x 4 = 983,040,000 B: well inside the room
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "sglang==0.5.14",
                       "--max-num-seqs", "30000", "--max-model-len", "8192", "--json")
    assert code == 0 and not [n for n in json.loads(out)["notes"] if "request table" in n]
