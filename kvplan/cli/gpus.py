"""`kvplan gpus`: the GPU catalog, one row per product."""

from __future__ import annotations

import typer

from kvplan.cli.common import JsonOpt, console, gib, print_json


def gpus(json_out: JsonOpt = False) -> None:
    """List the GPU catalog: memory as the driver reports it, HBM bandwidth, dense tensor FLOP/s and links.

    Every figure cites its source in kvplan/data/gpus.yaml (see docs/gpus.md). `--gpu` takes a
    catalog name, an alias or the name the driver prints; a name that covers several products
    (`a100`) is refused with the list. `--gpu-mem` overrides the memory figure.

    Examples:

    * `kvplan gpus`
    * `kvplan gpus --json | jq '.[] | select(.name == "h20")'`
    """
    from kvplan.gpus import gpu_dict, list_gpus

    rows = list_gpus()
    if json_out:
        print_json([gpu_dict(g) for g in rows])
        return
    from rich.table import Table

    table = Table(
        title=(f"{len(rows)} GPUs: dense tensor FLOP/s (no sparsity); link bandwidth per direction; "
               "n/a = none or unpublished"),
        title_justify="left",
    )
    for col, just in (("name", "left"), ("memory", "right"), ("source", "left"), ("HBM", "right"),
                      ("BF16", "right"), ("FP8", "right"), ("FP4", "right"), ("GPU link", "left"),
                      ("host link", "left"), ("engines", "left")):
        table.add_column(col, justify=just)
    for g in rows:
        table.add_row(g.name, gib(g.memory_bytes), g.memory_source, _rate(g.hbm_bandwidth_bytes_per_s, "TB/s"),
                      _tflops(g.bf16_dense_flops), _tflops(g.fp8_dense_flops), _tflops(g.fp4_dense_flops),
                      _link(g.interconnect), _link(g.host_link), ", ".join(g.engines))
    con = console()
    con.print(table)
    con.print("memory source: runtime = what torch/vLLM report (what engines size from); smi = nvidia-smi/hl-smi "
              "total (a few hundred MiB higher); datasheet = nameplate. Override with --gpu-mem.")


def _tflops(flops: int | None) -> str:
    return "n/a" if flops is None else f"{flops / 1e12:,.1f} TF"


def _rate(bytes_per_s: int | None, unit: str) -> str:
    return "n/a" if bytes_per_s is None else f"{bytes_per_s / 1e12:.2f} {unit}"


def _link(link) -> str:
    if link is None:
        return "n/a"
    kind = f"{link.kind} x{link.lanes}" if link.lanes else link.kind
    if link.bytes_per_s is None:
        return f"{kind} (n/a)"
    return f"{kind} {link.bytes_per_s / 1e9:.4g} GB/s"


def register(app: typer.Typer) -> None:
    app.command("gpus")(gpus)
