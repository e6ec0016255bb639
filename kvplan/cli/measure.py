"""`kvplan measure` (real caches and kernels on a GPU) and `kvplan report` (render a saved run)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from kvplan.cli.common import BlockSizeOpt, JsonOpt, b, console, print_json, tok


def measure(
    model: Annotated[str, typer.Argument(help="Built-in name, spec YAML, or config.json.")],
    ctx: Annotated[str, typer.Option("--ctx", help="Tokens per sequence: 8k, 32k ...")] = "8k",
    batch: Annotated[int, typer.Option("--batch", min=1, help="Sequences decoded together.")] = 16,
    kv_dtype: Annotated[
        str, typer.Option("--kv-dtype", help="Formats to measure, comma-separated: bf16, fp16, fp8, int8, int4.")
    ] = "bf16,fp8,int8",
    layers: Annotated[
        str, typer.Option("--layers", help="Measure all layers, or the first N (figures are scaled to the whole model).")
    ] = "all",
    block_size: BlockSizeOpt = 16,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Timed decode steps per format.")] = 20,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed for K/V and queries.")] = 0,
    probe_capacity: Annotated[
        bool, typer.Option("--probe-capacity", help="Also allocate pages until the GPU refuses and compare with "
                                                    "the capacity planner's raw-engine tokens.")
    ] = False,
    weights: Annotated[
        Optional[str], typer.Option("--weights", help="Weights format for --probe-capacity's weight buffer.")
    ] = None,
    interpret: Annotated[
        bool, typer.Option("--interpret", help="Run the same pipeline on the CPU under the Triton interpreter, at "
                                               "tiny sizes (ctx <= 40, batch <= 2, 2 layers): for CI, not timings.")
    ] = False,
    out: Annotated[Optional[str], typer.Option("--out", help="Write the JSON report here.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Measure real HBM use and decode latency of paged KV caches, against the prediction.

    For each format: predict the paged cache bytes with the planner, allocate the cache through
    the same layout on the GPU as one pool tensor with every layer viewed into it (tensor bytes
    must equal the prediction to the byte; `torch.cuda.memory_allocated` is set against a model
    of the caching allocator), fill it with the Triton write kernel, time paged decode attention
    over the layers by CUDA-graph replay (median and spread), and set the time against bytes read
    / device read bandwidth measured in the same run.

    Examples:

    * `kvplan measure llama3-8b --ctx 8k --batch 16 --kv-dtype bf16,fp8,int8`
    * `kvplan measure deepseek-v2-lite --ctx 32k --batch 8 --layers 4 --out ds.json`
    * `kvplan measure llama3-8b --interpret --kv-dtype fp8 --json`   (CPU, tiny sizes)

    Needs a CUDA GPU and `kvplan[gpu]`; `--interpret` runs everything on the CPU at tiny sizes.
    `kvplan report REPORT.json` renders a saved report. Exit 1 when a format's measurement
    failed (an out-of-memory format is reported, not a failure).
    """
    from kvplan.errors import BadInputError
    from kvplan.formats import parse_formats
    from kvplan.measure import MeasureConfig, load_spec, run_measure
    from kvplan.outputs import atomic_write_text, check_writable
    from kvplan.units import parse_tokens

    n_ctx = parse_tokens(ctx, "--ctx")
    if layers.strip().lower() == "all":
        n_layers = None
    else:
        try:
            n_layers = int(layers)
        except ValueError:
            raise BadInputError(f"--layers: expected a whole number or 'all', got {layers!r}") from None
        if n_layers < 1:
            raise BadInputError(f"--layers must be at least 1, got {n_layers}")
    if out:
        check_writable(out, "--out")
    spec = load_spec(model)
    formats = tuple(parse_formats(kv_dtype, spec.dtype))
    cfg = MeasureConfig(ctx=n_ctx, batch=batch, formats=formats, layers=n_layers, block_size=block_size,
                        interpret=interpret, repeat=repeat, seed=seed, probe_capacity=probe_capacity,
                        weights=weights)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=__import__("rich.console", fromlist=["Console"]).Console(stderr=True),
                  transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(f"measure {spec.name}", total=None)
        report = run_measure(spec, cfg, progress=lambda msg: bar.update(task, description=msg))
    if out:
        atomic_write_text(out, json.dumps(report, indent=2) + "\n", "--out")
        print(f"kvplan: wrote {out}", file=sys.stderr)
    if json_out:
        print_json(report)
    else:
        render(report)
    failed = [f for f in report["formats"] if f.get("status") != "ok"]
    for f in failed:
        print(f"kvplan: warning: {f['kv_dtype']}: {f.get('status')}: {f.get('error', '')}", file=sys.stderr)
    # An out-of-memory format is a result (reported, memory released); a failed kernel is not.
    if any(f.get("status") == "error" for f in failed):
        raise typer.Exit(1)


def render(report: dict) -> None:
    from rich.table import Table

    con = console()
    dev = report["device"]
    cfg = report["config"]
    where = f"{dev['name']}" + (" (Triton interpreter on the CPU: timings mean nothing)" if dev.get("interpret") else "")
    con.print(
        f"[bold]{report['model']}[/bold] on {where}: {cfg['batch']} x {tok(cfg['ctx'])} tokens, "
        f"{cfg['layers_measured']} of {cfg['num_layers']} layers, block {cfg['block_size']}; "
        + (f"read bandwidth {report['read_bandwidth']['gbps']:.1f} GB/s, " if report.get("read_bandwidth") else "")
        + f"copy {report['copy_bandwidth']['gbps']:.1f} GB/s (read + write)"
    )
    table = Table(title_justify="left")
    for col in ("format", "cache predicted", "tensor bytes", "allocator", "alloc model", "decode ms (± IQR/2)",
                "roof ms", "GB/s", "% of read roof", "vs bf16"):
        table.add_column(col, justify="left" if col == "format" else "right")
    for f in report["formats"]:
        if f.get("status") != "ok":
            table.add_row(f["kv_dtype"], b(f["cache_bytes_predicted"]), f.get("status", "?"), *[""] * 7)
            continue
        alloc = f.get("allocator_bytes_measured")
        model = f.get("allocator_bytes_predicted")
        table.add_row(
            f["kv_dtype"], b(f["cache_bytes_predicted"]), "" if f.get("tensor_bytes") is None else b(f["tensor_bytes"]),
            "" if alloc is None else b(alloc), "" if model is None else b(model),
            f"{f['decode_ms_median']:.3f} ±{f['decode_ms_iqr'] / 2:.3f}", _num(f, "decode_ms_predicted"),
            _num(f, "achieved_gbps", "{:.1f}"), _num(f, "pct_of_read_roof", "{:.0f}%"),
            _num(f, "speedup_vs_bf16", "{:.2f}x"),
        )
    con.print(table)
    for f in report["formats"]:
        if f.get("cache_bytes_explanation") and f.get("cache_bytes_diff"):
            con.print(f"{f['kv_dtype']}: {f['cache_bytes_explanation']}")
    probe = report.get("probe_capacity")
    if probe:
        if probe.get("status") == "ok":
            con.print(
                f"probe ({probe['kv_dtype']}): {probe['measured_tokens']:,} tokens fit after a "
                f"{probe['weights_bytes']:,} B weight buffer; the planner's raw engine predicts "
                f"{probe['predicted_tokens_raw']:,} ({probe['diff_pct']:+.2f}%)"
            )
        else:
            con.print(f"probe: {probe.get('status')}")


def _num(row: dict, key: str, fmt: str = "{:.3f}") -> str:
    value = row.get(key)
    return "" if value is None else fmt.format(value)


def report_cmd(
    path: Annotated[str, typer.Argument(help="A JSON report written by `kvplan measure --out`.")],
    plot: Annotated[Optional[str], typer.Option("--plot", help="Draw predicted vs measured to this PNG.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Render a saved `kvplan measure` report: predicted vs measured bytes and decode time."""
    from pathlib import Path

    from kvplan.loader import read_json
    from kvplan.measure import validate_report

    data = validate_report(read_json(Path(path)), path)
    if plot:
        from kvplan.plots import plot_measure

        plot_measure(data, plot)
    if json_out:
        print_json(data)
    else:
        render(data)


def register(app: typer.Typer) -> None:
    app.command("measure")(measure)
    app.command("report")(report_cmd)
