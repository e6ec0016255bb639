"""Plots: the plotted numbers are footprint()'s, the axes are labelled, files are all-or-nothing."""

import json
import sys

import pytest

import matplotlib  # noqa: F401  (the test extra installs these: missing must fail, not skip)
import pandas  # noqa: F401

from kvplan.cli.main import run  # noqa: E402
from kvplan.footprint import Parallelism, footprint  # noqa: E402
from kvplan.formats import FORMATS  # noqa: E402
from kvplan.plots import context_points, size_figure, size_series, sweep_figure  # noqa: E402
from kvplan.spec import spec_from_mapping  # noqa: E402
from kvplan.sweep import sweep  # noqa: E402
from helpers import cli, one_line_error

GiB = 2**30
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

HYBRID = spec_from_mapping(
    dict(
        name="hybrid", source="test", num_layers=12, hidden_size=4096, num_attention_heads=32, num_kv_heads=8,
        head_dim=128, vocab_size=32000, intermediate_size=11008, dtype="bf16", max_position_embeddings=32768,
        cache={
            "kinds": {
                "local": {"kind": "sliding_window", "window": 1000},
                "global": {"kind": "full_attention"},
                "ssm": {"kind": "state_space", "conv_dim": 64, "conv_kernel": 4, "ssm_heads": 8,
                        "ssm_head_dim": 4, "ssm_state_size": 16},
            },
            "pattern": ["local", "local", "global", "ssm"],
        },
    ),
    "test",
)


def test_context_points_cover_the_range_on_a_log_scale():
    pts = context_points(1024, 131072, extra=(5000,))
    assert pts[0] == 1024 and pts[-1] == 131072
    assert pts == sorted(set(pts))
    assert {1 << k for k in range(10, 18)} <= set(pts)  # every power of two
    assert 5000 in pts
    # 7 octaves x 8 points per octave, plus the extra point
    assert 57 <= len(pts) <= 57 + 8 + 1


@pytest.mark.parametrize("tp, pp", [(1, 1), (2, 1), (4, 3)])
def test_size_series_is_footprint_per_gpu_paged(tp, pp):
    ctxs = [1, 15, 16, 17, 999, 1000, 1001, 1016, 1017, 5000, 32768]
    fmts = [FORMATS["bf16"], FORMATS["int4"], FORMATS["nvfp4"]]
    series = size_series(HYBRID, fmts, ctxs, batch=3, block_size=16, par=Parallelism(tp, pp))
    for fmt in fmts:
        expected = [footprint(HYBRID, fmt, c, 3, 16, Parallelism(tp, pp)).per_gpu_paged_bytes for c in ctxs]
        assert series[fmt.name].tolist() == expected


def test_size_figure_axes_lines_and_labels():
    fmts = [FORMATS["bf16"], FORMATS["fp8_e4m3"], FORMATS["int4"]]
    fig = size_figure(HYBRID, fmts, batch=2, ctx_mark=8192)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "tokens" in ax.get_xlabel()
    assert "GiB" in ax.get_ylabel()
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:3] == ["bf16", "fp8_e4m3", "int4"]
    assert labels[3] == "ctx 8k"  # the requested context, as a vertical line
    # the bf16 line's y values are footprint's per-GPU paged bytes in GiB
    x, y = ax.get_lines()[0].get_data()
    for c, gib in zip(x, y):
        assert gib == footprint(HYBRID, fmts[0], int(c), 2).per_gpu_paged_bytes / GiB
    assert 8192 in [int(c) for c in x]
    assert min(x) <= 1024 and max(x) >= HYBRID.max_position_embeddings


def test_size_plot_writes_a_png(capsys, tmp_path):
    path = tmp_path / "kv.png"
    code, out, err = cli(capsys, "size", "llama3-8b", "--ctx", "8k", "--kv-dtype", "bf16,fp8", "--plot", str(path))
    assert code == 0
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["kv.png"]


def test_size_plot_svg_by_suffix(capsys, tmp_path):
    path = tmp_path / "kv.svg"
    assert run(["size", "llama3-8b", "--kv-dtype", "bf16", "--plot", str(path)]) == 0
    assert b"<svg" in path.read_bytes()[:2000]


@pytest.mark.parametrize(
    "where, match",
    [("kv.txt", "use a file name ending in .png"), ("nofolder/kv.png", "does not exist"), (".", "is a directory")],
)
def test_size_plot_bad_paths_exit_2(capsys, tmp_path, where, match):
    path = tmp_path / where if where != "." else tmp_path
    code, out, err = cli(capsys, "size", "llama3-8b", "--plot", str(path))
    assert code == 2 and out == ""
    assert match in one_line_error(err)
    assert not (tmp_path / "kv.txt").exists()


def test_missing_matplotlib_is_a_one_line_exit_2(capsys, monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = cli(capsys, "size", "llama3-8b", "--plot", str(tmp_path / "kv.png"))
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert "--plot needs matplotlib" in line and "pip install 'kvplan[plot]'" in line
    assert list(tmp_path.iterdir()) == []


def test_failed_save_leaves_no_file(capsys, monkeypatch, tmp_path):
    from matplotlib.figure import Figure

    def broken(self, fname, **kw):
        with open(fname, "wb") as fh:
            fh.write(PNG_MAGIC)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", broken)
    code, _, err = cli(capsys, "size", "llama3-8b", "--plot", str(tmp_path / "kv.png"))
    assert code != 0 and "No space left" in one_line_error(err)
    assert list(tmp_path.iterdir()) == []


def test_size_gpu_answers_from_the_capacity_pool(capsys):
    """Issue 12: `size --gpu` must give capacity's answer. Gemma-3-27B, 8 x 32k on one H100:
    capacity says 2 requests of 32k at once (sliding layers reserve windows + a step's tokens)."""
    from kvplan.capacity import plan_capacity
    from kvplan.loader import load_model

    code, out, err = cli(capsys, "size", "gemma3-27b", "--ctx", "32k", "--batch", "8", "--gpu", "h100",
                         "--kv-dtype", "bf16", "--json")
    assert code == 0
    (fmt,) = json.loads(out)["formats"]
    cap = plan_capacity(load_model("gemma3-27b"), "h100", ctx=32768, batch=8)
    assert fmt["on_gpu"]["fits"] is False and fmt["on_gpu"]["limit"] == "memory" and not cap.fits
    assert fmt["on_gpu"]["max_requests"] == cap.requests_at_ctx == 2
    assert fmt["on_gpu"]["kv_pool_bytes"] == cap.kv_pool_bytes
    assert fmt["on_gpu"]["reserved_bytes"] == 8 * cap.ctx_blocks_per_request * cap.block_unit_bytes


def test_sweep_figure_one_panel_per_model_tp_pp():
    df = sweep([HYBRID, "llama3-8b"], ctx="1k,4k,32k", batch="1,8", kv_dtype="bf16,int4", tp="1,2")
    fig = sweep_figure(df, specs=[HYBRID])
    assert len(fig.axes) == 4  # 2 models x 2 tp
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["hybrid", "hybrid, tp 2, pp 1", "llama3-8b", "llama3-8b, tp 2, pp 1"]
    ax = fig.axes[3]
    assert [line.get_label() for line in ax.get_lines()] == [
        "bf16, batch 1", "bf16, batch 8", "int4, batch 1", "int4, batch 8"]
    # llama3-8b, tp 2, bf16, batch 8 at 32k: 32 x 4 x 512 B x 32,768 x 8 = 16 GiB per GPU
    x, y = ax.get_lines()[1].get_data()
    assert list(x) == [1024, 4096, 32768] and y[-1] == 16.0
    assert ax.get_xscale() == "log" and "GiB" in ax.get_ylabel() and "tokens" in ax.get_xlabel()


def test_sweep_plot_cli_with_csv(capsys, tmp_path):
    png, csv = tmp_path / "g.png", tmp_path / "g.csv"
    code, out, err = cli(capsys, "sweep", "llama3-8b", "--ctx", "4k,8k", "--plot", str(png), "--csv", str(csv))
    assert code == 0
    assert png.read_bytes()[:8] == PNG_MAGIC and csv.exists()


def test_sweep_plot_bad_path_fails_before_any_file(capsys, tmp_path):
    csv = tmp_path / "g.csv"
    code, _, err = cli(capsys, "sweep", "llama3-8b", "--plot", str(tmp_path / "g.jpg"), "--csv", str(csv))
    assert code == 2 and ".png" in one_line_error(err)
    assert not csv.exists()


def test_gpu_line_is_the_capacity_pool_and_curves_what_the_engine_reserves():
    """Issue 12: the GPU line was memory minus weights (so 8 x 32k of Gemma-3-27B looked like
    it fit an H100). It is the KV pool of the one capacity model, and the curves are what the
    engine reserves for the batch."""
    import kvplan.gpus as gpus
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    gpu = gpus.get_gpu("h100")
    spec = load_model("gemma3-27b")
    fig = size_figure(spec, [FORMATS["bf16"]], batch=8, gpu=gpu, ctxs=[4096, 32768])
    (ax,) = fig.axes
    pool = plan(make_request(spec, gpu))
    hline = [ln for ln in ax.get_lines() if "KV pool" in ln.get_label()]
    assert len(hline) == 1 and gpu.display_name in hline[0].get_label()
    assert hline[0].get_ydata()[0] == pool.kv_pool_bytes / GiB
    (curve,) = [ln for ln in ax.get_lines() if ln.get_label() == "bf16"]
    assert list(curve.get_ydata()) == [pool.reserved_bytes(4096, 8) / GiB, pool.reserved_bytes(32768, 8) / GiB]
    assert curve.get_ydata()[1] > hline[0].get_ydata()[0]  # 8 x 32k does not fit, as capacity says


def test_no_pool_draws_a_note_not_a_line_at_zero():
    """Issue 12: when the weights alone do not fit, the line was drawn at 1e-9 GiB and every
    curve was squashed. Now there is no line, a note, and the axis spans the curves."""
    import kvplan.gpus as gpus
    from kvplan.loader import load_model

    fig = size_figure(load_model("llama3.1-70b"), [FORMATS["bf16"]], gpu=gpus.get_gpu("h100"), ctxs=[1024, 8192])
    (ax,) = fig.axes
    assert not [ln for ln in ax.get_lines() if "KV pool" in ln.get_label()]
    assert any("no KV pool" in t.get_text() for t in ax.texts)
    fig.canvas.draw()
    low, high = ax.get_ylim()
    assert low > 0.01 and high / low < 100  # the two points (0.31 and 2.5 GiB), not 1e-9


def test_sweep_plot_pool_line_from_a_format_the_sweep_kept(capsys, tmp_path):
    """`sweep --kv-dtype int4,bf16 --gpu h100 --plot` skips int4 (vLLM cannot store it) with a
    warning; the plot took the pool of the first format named and failed with exit 2."""
    png = tmp_path / "g.png"
    code, _, err = cli(capsys, "sweep", "llama3-8b", "--ctx", "4k,8k", "--kv-dtype", "int4,bf16", "--gpu", "h100",
                       "--plot", str(png))
    assert code == 0, err
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert "skipped llama3-8b int4" in err
