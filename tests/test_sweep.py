"""`kvplan sweep` and kvplan.sweep: every row equals footprint() exactly; outputs; bad input."""

import itertools
import json
import os
import subprocess
import sys

import numpy  # noqa: F401  (the test extra installs it: a missing one must fail, not skip)
import pandas as pd
import pytest
from helpers import DEEPSEEK_V3_MLA, HYBRID_CACHE, cli, one_line_error, toy_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvplan.cli.main import run  # noqa: E402
from kvplan.errors import BadInputError, ShapeError  # noqa: E402
from kvplan.footprint import Parallelism, footprint  # noqa: E402
from kvplan.formats import get_format  # noqa: E402
from kvplan.sweep import BYTE_COLUMNS, KEY_COLUMNS, make_grid, run_sweep, sweep  # noqa: E402

GiB = 2**30


# Llama-3-8B's KV shape (32 layers, 8 KV heads, head_dim 128): 131,072 B per token in bf16.
LLAMA = toy_spec(name="llama-like")
HYBRID = toy_spec(
    name="hybrid", num_layers=12, dtype="fp16",
    cache=HYBRID_CACHE,
)
# DeepSeek-V3's MLA shape: 61 layers x (512 + 64) latent.
MLA = toy_spec(
    name="mla", num_layers=61, num_attention_heads=128, num_kv_heads=128, hidden_size=7168,
    mla=DEEPSEEK_V3_MLA,
    cache={"kinds": {"mla": {"kind": "mla"}}},
)
# head_dim 80 is not a multiple of 32: the group-32 formats cannot store it.
ODD = toy_spec(name="odd", num_layers=5, hidden_size=1280, num_attention_heads=16, num_kv_heads=4, head_dim=80,
            cache={"kinds": {"chunk": {"kind": "chunked_local", "chunk": 96}, "full": {"kind": "full_attention"}},
                   "pattern": ["chunk", "full"]})
# A pure state-space model: every figure is constant in ctx.
SSM_ONLY = toy_spec(
    name="ssm-only", num_layers=4,
    cache={"kinds": {"ssm": {"kind": "state_space", "conv_dim": 64, "conv_kernel": 4, "ssm_heads": 8,
                             "ssm_head_dim": 4, "ssm_state_size": 16}}},
)
SPECS = [LLAMA, HYBRID, MLA, ODD, SSM_ONLY]


# -- exact figures --------------------------------------------------------------------------
def test_llama_grid_exact_and_in_cartesian_order():
    df = sweep(LLAMA, ctx="4k,32k", batch=[1, 8], kv_dtype="bf16,fp8")
    assert list(df.columns) == [*KEY_COLUMNS, *BYTE_COLUMNS]
    keys = list(df[["ctx", "batch", "kv_dtype"]].itertuples(index=False, name=None))
    assert keys == list(itertools.product([4096, 32768], [1, 8], ["bf16", "fp8_e4m3"]))
    # bf16: 32 layers x 8 heads x (128 + 128) x 2 B = 131,072 B/token; fp8: half, 65,536.
    assert df["bytes_per_token"].tolist() == [131_072, 65_536] * 4
    # total = bytes/token x ctx x batch:
    #   4k x 1 bf16 = 131,072 x 4,096 = 512 MiB; x 8 = 4 GiB; 32k x 1 = 4 GiB; 32k x 8 = 32 GiB
    assert df["total_bytes"].tolist() == [
        512 * 2**20, 256 * 2**20, 4 * GiB, 2 * GiB, 4 * GiB, 2 * GiB, 32 * GiB, 16 * GiB,
    ]
    # 4k and 32k are multiples of the 16-token page: paged = exact; tp=pp=1: per GPU = total.
    assert (df["paged_total_bytes"] == df["total_bytes"]).all()
    assert (df["per_gpu_paged_bytes"] == df["total_bytes"]).all()
    assert all(str(t) == "int64" for t in df[list(BYTE_COLUMNS)].dtypes)


def test_tp_and_pp_per_gpu_exact():
    df = sweep(LLAMA, ctx=1000, batch=3, kv_dtype="bf16", tp="1,2,16", pp="1,3")
    row = {(r.tp, r.pp): r for r in df.itertuples()}
    # 1,000 tokens = 63 pages of 16 (1,008 tokens); per layer per head-vector pair 256 x 2 B = 512 B/token.
    # tp 1, pp 1: 32 layers x 8 heads x 512 B x 1,000 x 3 = 393,216,000 B (paged: x 1,008 = 396,361,728)
    assert row[1, 1].per_gpu_bytes == 32 * 8 * 512 * 1000 * 3 == 393_216_000
    assert row[1, 1].per_gpu_paged_bytes == 32 * 8 * 512 * 1008 * 3
    # tp 2: 4 heads per GPU -> half
    assert row[2, 1].per_gpu_bytes == 32 * 4 * 512 * 1000 * 3
    # tp 16 > 8 KV heads: heads replicated, max(1, 8 // 16) = 1 head per GPU
    assert row[16, 1].per_gpu_bytes == 32 * 1 * 512 * 1000 * 3
    # pp 3 splits 32 layers as 11, 11, 10 (vLLM): the most loaded GPU holds 11 layers
    assert row[1, 3].per_gpu_bytes == 11 * 8 * 512 * 1000 * 3
    assert row[2, 3].per_gpu_paged_bytes == 11 * 4 * 512 * 1008 * 3
    # totals never depend on tp/pp
    assert df["total_bytes"].nunique() == 1


def test_state_space_only_model_is_constant_in_ctx():
    df = sweep(SSM_ONLY, ctx="1,1k,1M", kv_dtype="bf16")
    # per layer: conv 64 x (4 - 1) + state 8 x 4 x 16 = 192 + 512 = 704 values x 2 B = 1,408 B; 4 layers
    assert df["seq_bytes"].tolist() == [4 * 1408] * 3
    assert df["paged_total_bytes"].tolist() == [4 * 1408] * 3
    assert df["bytes_per_token"].tolist() == [0] * 3


# -- the property that keeps the two paths together -----------------------------------------
_FMT_NAMES = ["auto", "bf16", "fp8", "int8", "int4", "nvfp4", "q4_0", "fp32"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(st.sampled_from(SPECS), min_size=1, max_size=3, unique_by=lambda s: s.name),
    ctxs=st.lists(st.integers(1, 300_000), min_size=1, max_size=4),
    batches=st.lists(st.integers(1, 512), min_size=1, max_size=3),
    kvs=st.lists(st.sampled_from(_FMT_NAMES), min_size=1, max_size=3),
    tps=st.lists(st.sampled_from([1, 2, 3, 4, 8, 16]), min_size=1, max_size=3),
    pps=st.lists(st.integers(1, 6), min_size=1, max_size=2),
    block_size=st.sampled_from([1, 16, 32, 48, 64]),  # ODD's chunk of 96 is not a multiple of 64
)
def test_every_row_equals_footprint(specs, ctxs, batches, kvs, tps, pps, block_size):
    grid = make_grid(specs, ctxs, batches, kvs, tps, pps, block_size)
    expected = {}
    for spec in specs:
        fmts = list(dict.fromkeys(get_format(k, spec.dtype) for k in grid.kv_dtypes))
        for ctx, batch, fmt, tp, pp in itertools.product(grid.ctxs, grid.batches, fmts, grid.tps, grid.pps):
            try:
                expected[spec.name, ctx, batch, fmt.name, tp, pp] = footprint(
                    spec, fmt, ctx, batch, block_size, Parallelism(tp, pp))
            except ShapeError:
                pass
    if not expected:
        with pytest.raises(ShapeError):
            run_sweep(grid)
        return
    df = run_sweep(grid)
    keys = [tuple(k) for k in df[["model", "ctx", "batch", "kv_dtype", "tp", "pp"]].itertuples(index=False)]
    # exactly the points footprint() can compute, in cartesian order, each once
    assert keys == list(expected)
    for row in df.itertuples(index=False):
        fp = expected[row.model, row.ctx, row.batch, row.kv_dtype, row.tp, row.pp]
        assert row.block_size == block_size
        for col in BYTE_COLUMNS:
            assert getattr(row, col) == getattr(fp, col), (col, row)
    # (so the points left out are exactly those footprint() refuses;) each says why
    for s in df.attrs["skipped"]:
        assert s["reason"] and s["model"] in {sp.name for sp in specs}


def test_auto_resolves_per_model_and_dedupes():
    df = sweep([LLAMA, HYBRID], ctx=64, kv_dtype="auto,bf16,fp16")
    assert df[df.model == "llama-like"]["kv_dtype"].tolist() == ["bf16", "fp16"]  # auto = bf16: once
    assert df[df.model == "hybrid"]["kv_dtype"].tolist() == ["fp16", "bf16"]  # auto = fp16: once


def test_unsupported_combinations_are_skipped_with_reasons():
    df = sweep([LLAMA, ODD], ctx=128, kv_dtype="bf16,int4", tp="1,3")
    skipped = df.attrs["skipped"]
    # tp=3 divides neither model's 32 / 16 heads; int4 (groups of 32) cannot store head_dim 80
    assert {(s["model"], s["kv_dtype"], s["tp"]) for s in skipped} == {
        ("llama-like", None, 3), ("odd", None, 3), ("odd", "int4", None)}
    assert set(map(tuple, df[["model", "kv_dtype", "tp"]].astype(str).values)) == {
        ("llama-like", "bf16", "1"), ("llama-like", "int4", "1"), ("odd", "bf16", "1")}


def test_two_models_with_one_name_are_refused():
    other = toy_spec(name="llama-like", num_kv_heads=4)  # same name, different shape
    with pytest.raises(BadInputError, match="two different models are named 'llama-like'"):
        sweep([LLAMA, other], ctx=128)
    # the same spec twice is just deduplicated
    assert len(sweep([LLAMA, LLAMA], ctx=128, kv_dtype="bf16")) == 1


def test_nothing_computable_is_an_error():
    with pytest.raises(ShapeError, match="no point of the grid"):
        sweep(LLAMA, ctx=128, tp=3)


def test_int64_overflow_is_refused_not_wrapped():
    # 131,072 B/token x 2**32 tokens x 2**20 sequences = 2**69 bytes: beyond int64, within
    # every input limit (kvplan.limits: 2**32 tokens, 2**20 sequences)
    with pytest.raises(BadInputError, match="2\\*\\*63"):
        sweep(LLAMA, ctx=2**32, batch=2**20, kv_dtype="bf16")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(ctx=""), "empty"),
        (dict(ctx=[]), "empty"),
        (dict(ctx="4k,,8k"), "empty item"),
        (dict(ctx="0"), "positive"),
        (dict(ctx="abc"), "cannot read"),
        (dict(ctx=1.5), "whole number"),
        (dict(ctx=4096, batch="-1"), "positive"),
        (dict(ctx=4096, tp="2k"), "whole number"),
        (dict(ctx=4096, kv_dtype="bf17"), "unknown kv format"),
        (dict(ctx=4096, block_size=0), "block size"),
    ],
)
def test_bad_axes_raise_one_line(kwargs, match):
    with pytest.raises(BadInputError, match=match) as info:
        sweep(LLAMA, **kwargs)
    assert "\n" not in str(info.value)


# -- CLI ------------------------------------------------------------------------------------
def test_cli_table(capsys):
    code, out, err = cli(capsys, "sweep", "llama3-8b", "--ctx", "4k,32k", "--batch", "1,8", "--kv-dtype",
                          "bf16,fp8", "--tp", "1,3")
    assert code == 0
    assert "llama3-8b: paged KV (block 16)" in out
    assert "fp8_e4m3" in out and "32.00 GiB" in out and "512.00 MiB" in out
    assert "tp=3 does not divide" in err  # the skipped combination, on stderr only


def test_cli_json_matches_library(capsys):
    code, out, err = cli(capsys, "sweep", "llama3-8b", "--ctx", "4k,8k", "--batch", "2", "--kv-dtype", "bf16,int4",
                          "--tp", "1,2", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["grid"]["ctx"] == [4096, 8192] and data["gpu"] is None and data["skipped"] == []
    expected = sweep("llama3-8b", "4k,8k", 2, "bf16,int4", "1,2").to_dict("records")
    assert data["points"] == expected
    assert data["points"][0]["total_bytes"] == 131_072 * 4096 * 2


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_cli_files_hold_every_row(capsys, tmp_path, kind):
    path = tmp_path / f"grid.{kind}"
    code, out, err = cli(capsys, "sweep", "llama3-8b", "--ctx", "1k,3000", "--batch", "1,7", "--tp", "1,2,4",
                          f"--{kind}", str(path))
    assert code == 0 and out == ""
    assert "wrote 36 rows" in err  # 2 ctx x 2 batch x 3 formats (auto, fp8, int4) x 3 tp
    back = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    expected = sweep("llama3-8b", "1k,3000", "1,7", "auto,fp8,int4", "1,2,4")
    assert list(back.columns) == list(expected.columns)
    for col in expected.columns:
        assert back[col].astype(str).tolist() == expected[col].astype(str).tolist(), col
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_cli_csv_header_and_first_row(capsys, tmp_path):
    path = tmp_path / "g.csv"
    assert run(["sweep", "llama3-8b", "--ctx", "8k", "--kv-dtype", "bf16", "--csv", str(path)]) == 0
    lines = path.read_text().splitlines()
    assert lines[0].replace('"', "") == ",".join([*KEY_COLUMNS, *BYTE_COLUMNS])
    # 131,072 x 8,192 = 1,073,741,824 = 1 GiB in every byte column except bytes_per_token
    assert lines[1].replace('"', "") == "llama3-8b,8192,1,bf16,1,1,16,131072," + ",".join(["1073741824"] * 5)


@pytest.mark.parametrize(
    "args, match",
    [
        (["--ctx", ""], "ctx: empty item"),
        (["--ctx", "8k,"], "ctx: empty item"),
        (["--batch", "eight"], "batch: cannot read"),
        (["--batch", "0"], "batch: must be positive"),
        (["--tp", "1.5"], "tp: '1.5' is not a positive whole number"),
        (["--kv-dtype", "fp9"], "unknown kv format 'fp9'"),
        (["--block-size", "0"], "--block-size"),
        (["--csv", "a.csv", "--json"], "at most one of"),
    ],
)
def test_cli_bad_input_one_line_exit_2(capsys, args, match):
    code, out, err = cli(capsys, "sweep", "llama3-8b", *args)
    assert code == 2
    assert match in one_line_error(err)
    assert out == ""


def test_cli_unknown_model_suggests(capsys):
    code, _, err = cli(capsys, "sweep", "llama3-8b,llama3-8c")
    assert code == 2
    assert "did you mean llama3-8b" in one_line_error(err)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_cli_unwritable_paths_fail_before_computing(capsys, tmp_path, monkeypatch, kind):
    import kvplan.sweep as sw

    def boom(*a, **k):
        raise AssertionError("computed before checking the output path")

    monkeypatch.setattr(sw, "run_sweep", boom)
    for bad, why in [
        (tmp_path / "missing" / "x", "does not exist"),
        (tmp_path, "is a directory"),
    ]:
        code, out, err = cli(capsys, "sweep", "llama3-8b", f"--{kind}", str(bad))
        assert code == 2 and out == ""
        assert why in one_line_error(err)
    assert not (tmp_path / "missing").exists()


def test_cli_read_only_folder(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    # Permission bits do not stop root (CI runs as root), so the folder is made unwritable
    # the way kvplan.outputs asks: through os.access.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if str(p) == str(folder) else real_access(p, mode))
    code, _, err = cli(capsys, "sweep", "llama3-8b", "--csv", str(folder / "x.csv"))
    assert code == 2 and "not writable" in one_line_error(err)
    assert list(folder.iterdir()) == []


def test_cli_failed_write_leaves_no_partial_file(capsys, tmp_path, monkeypatch):
    import pyarrow.csv

    path = tmp_path / "grid.csv"
    path.write_text("old contents\n")

    def half_write(table, where, *a, **k):
        with open(where, "w") as fh:
            fh.write("model,ctx\nllama3-8b,")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pyarrow.csv, "write_csv", half_write)
    code, _, err = cli(capsys, "sweep", "llama3-8b", "--csv", str(path))
    assert code != 0 and "No space left" in one_line_error(err)
    assert path.read_text() == "old contents\n"  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["grid.csv"]  # no temporary left behind


def test_cli_missing_pandas_is_a_one_line_exit_2(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    code, _, err = cli(capsys, "sweep", "llama3-8b")
    assert code == 2
    assert "pip install 'kvplan[data]'" in one_line_error(err)


def test_cli_missing_pyarrow_is_checked_before_computing(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    code, _, err = cli(capsys, "sweep", "llama3-8b", "--parquet", str(tmp_path / "x.parquet"))
    assert code == 2
    assert "needs pyarrow" in one_line_error(err)


def test_planning_never_imports_numpy_or_pandas():
    code = (
        "import sys\n"
        "from kvplan.cli.main import run\n"
        "assert run(['size', 'llama3-8b', '--ctx', '32k', '--json']) == 0\n"
        "heavy = [m for m in ('numpy', 'pandas', 'pyarrow', 'matplotlib', 'torch', 'triton') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stderr


# -- --gpu ----------------------------------------------------------------------------------
def test_gpu_columns_are_the_capacity_pools_answers():
    """Issue 12: `sweep --gpu` said ~5.5 requests of 32k of Gemma-3-27B fit an H100 (footprint
    bytes against the pool) where `capacity` said 2. Every GPU column is now the Pool's answer."""
    import kvplan.gpus as gpus
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    gpu = gpus.get_gpu("h100")
    df = sweep("llama3.1-8b,gemma3-27b", ctx="8k,32k,128k", batch="1,8,64", kv_dtype="bf16,fp8", tp="1,2",
               gpu="h100", max_model_len="128k")
    assert df.attrs["gpu"] == gpu.name
    for row in df.itertuples(index=False):
        pool = plan(make_request(load_model(row.model), gpu, tp=row.tp, pp=row.pp, kv_format=row.kv_dtype,
                                 block_size=16, max_model_len=131072))
        v = pool.serves(row.ctx, row.batch)
        assert row.kv_pool_bytes == pool.kv_pool_bytes
        assert row.reserved_bytes == pool.reserved_bytes(row.ctx, row.batch)
        assert row.headroom_bytes == pool.headroom_bytes(row.ctx, row.batch)  # as check's min_headroom
        assert row.max_requests == pool.max_requests(row.ctx)
        assert (row.fits, row.limit) == (v.ok, v.bound)
    gemma = df[(df.model == "gemma3-27b") & (df.ctx == 32768) & (df.kv_dtype == "bf16") & (df.tp == 1)]
    assert list(gemma.max_requests) == [2, 2, 2] and list(gemma.fits) == [True, False, False]


def test_gpu_limits_max_model_len_and_max_num_seqs():
    df = sweep("llama3-8b", ctx="4k,32k", batch="1,80", kv_dtype="fp8", gpu="h100", max_num_seqs=64)
    by = {(r.ctx, r.batch): (r.fits, r.limit, r.max_requests) for r in df.itertuples(index=False)}
    assert by[(4096, 1)] == (True, "", 64)  # memory holds 216: capped by max_num_seqs
    assert by[(4096, 80)] == (False, "max_num_seqs", 64)
    assert by[(32768, 1)] == (False, "max_model_len", 0)  # llama3-8b: max_position_embeddings 8,192


def test_gpu_extremes():
    df = sweep("llama3-8b", ctx="8k", batch="1,64", kv_dtype="bf16,fp8", tp="1,2", gpu="h100")
    # 8k x 1 in bf16 is 1 GiB: it fits an H100; 64 x 8k in bf16 (64 GiB) does not on one GPU
    assert df[df.batch == 1]["fits"].all()
    assert not df[(df.batch == 64) & (df.kv_dtype == "bf16") & (df.tp == 1)]["fits"].any()


def test_the_skipped_list_is_shared_not_copied_by_pandas_operations():
    """frame.attrs is deep-copied into every frame pandas makes; a million skipped points made the
    table take minutes, so the list is shared."""
    import copy

    from kvplan.sweep import SharedList

    skipped = SharedList([{"tp": 3}])
    assert copy.deepcopy({"skipped": skipped})["skipped"] is skipped


@pytest.mark.parametrize("gpu", [None, "h100"])
def test_progress_reports_every_unit_of_the_sweep(gpu):
    """The progress callback (the CLI's bar on large grids) adds up to sweep_units, skipped cells
    (tp 3 does not split the heads) and formats included."""
    from kvplan.gpus import get_gpu
    from kvplan.loader import load_model
    from kvplan.sweep import Grid, run_sweep, sweep_units

    g = Grid(models=(load_model("llama3.1-8b"), load_model("deepseek-v2-lite")), ctxs=(8192,), batches=(1, 4),
             kv_dtypes=("bf16", "fp8"), tps=(1, 2, 3, 4), pps=(1, 2), block_size=None)
    done = []
    run_sweep(g, gpu, {}, progress=done.append)
    assert round(sum(done), 9) == sweep_units(g, get_gpu(gpu) if gpu else None) == (32 if gpu else 16)


def test_sweep_headroom_is_checks_with_a_block_override():
    # review h25 R4: with --num-gpu-blocks-override vLLM allocates only those blocks; sweep's
    # headroom said 57,601,855,488 B for 4 requests of 1k where check says 1,558,183,936 B
    from kvplan.capacity import make_request, plan
    from kvplan.gpus import get_gpu
    from kvplan.loader import load_model
    from kvplan.sweep import sweep

    pool = plan(make_request(load_model("llama3.1-8b"), get_gpu("h100"), max_model_len=8192,
                             num_gpu_blocks_override=1000))
    assert pool.headroom_bytes(1024, 4) == (999 - 4 * 64) * 2_097_152 == 1_558_183_936
    df = sweep("llama3.1-8b", 1024, 4, "bf16", gpu="h100", max_model_len=8192, num_gpu_blocks_override=1000)
    assert int(df.iloc[0]["headroom_bytes"]) == 1_558_183_936
