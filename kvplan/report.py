"""Plain-data views of results, for ``--json`` and the Python API (no rich, no printing)."""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass

from kvplan.footprint import Footprint
from kvplan.layers import CacheKind
from kvplan.spec import ModelSpec


def kind_dict(kind: CacheKind) -> dict:
    return {"kind": kind.kind, **asdict(kind)}


def footprint_dict(fp: Footprint, with_groups: bool = True) -> dict:
    out = {
        "kv_dtype": fp.kv_dtype,
        "bytes_per_token": fp.bytes_per_token,
        "seq_bytes": fp.seq_bytes,
        "total_bytes": fp.total_bytes,
        "paged_total_bytes": fp.paged_total_bytes,
        "per_gpu_bytes": fp.per_gpu_bytes,
        "per_gpu_paged_bytes": fp.per_gpu_paged_bytes,
        "all_gpus_bytes": fp.all_gpus_bytes,
        "all_gpus_paged_bytes": fp.all_gpus_paged_bytes,
    }
    if with_groups:
        out["groups"] = [
            {
                "label": g.label,
                "num_layers": g.num_layers,
                **kind_dict(g.kind),
                "per_token_bytes_per_layer": g.per_token_bytes,
                "cached_tokens": g.cached_tokens,
                "total_bytes": g.total_bytes,
                "paged_total_bytes": g.paged_total_bytes,
            }
            for g in fp.groups
        ]
        out["stages"] = [
            {
                "stage": s.stage,
                "first_layer": s.layers.start,
                "num_layers": len(s.layers),
                "per_gpu_bytes": s.bytes,
                "per_gpu_paged_bytes": s.paged_bytes,
            }
            for s in fp.stages
        ]
    return out


def spec_dict(spec: ModelSpec) -> dict:
    """The spec as plain data (layers summarised as groups, not one entry per layer)."""
    out = {}
    for f in fields(spec):
        if f.name in ("layers", "layer_labels", "origin"):
            continue
        value = getattr(spec, f.name)
        if is_dataclass(value):
            value = value.as_dict() if hasattr(value, "as_dict") else asdict(value)  # a tower names its kind
        elif isinstance(value, tuple):
            value = dict(value) if f.name == "extra_params" else [asdict(v) if is_dataclass(v) else v for v in value]
        out[f.name] = value
    out["layer_groups"] = [
        {"label": g.label, "num_layers": g.count, "layers": list(g.layers), **kind_dict(g.kind)} for g in spec.groups
    ]
    return out
