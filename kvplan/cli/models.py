"""`kvplan models`, `kvplan show`, `kvplan schema`, `kvplan import`: specs in and out."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from kvplan.cli.common import JsonOpt, b, console, gib, print_json, tok, warn_assumptions


def models(json_out: JsonOpt = False) -> None:
    """List the built-in model specs, with their KV bytes per token in the model's dtype."""
    from kvplan.footprint import bytes_per_token
    from kvplan.formats import get_format
    from kvplan.loader import load_all_builtins

    specs = load_all_builtins()
    rows = [
        {
            "name": s.name,
            "display_name": s.display_name,
            "num_layers": s.num_layers,
            "cache": _cache_summary(s),
            "dtype": s.dtype,
            "bytes_per_token": bytes_per_token(s, get_format(s.dtype)),
            "max_position_embeddings": s.max_position_embeddings,
            "aliases": list(s.aliases),
            "source": s.source,
        }
        for s in specs
    ]
    if json_out:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} built-in models (any name or alias, case-insensitive)", title_justify="left")
    for col, just in (("name", "left"), ("model", "left"), ("layers", "right"), ("cache", "left"),
                      ("KV bytes/token", "right"), ("max ctx", "right")):
        table.add_column(col, justify=just)
    for r in rows:
        table.add_row(r["name"], r["display_name"], str(r["num_layers"]), r["cache"],
                      f"{b(r['bytes_per_token'])} ({r['dtype']})", tok(r["max_position_embeddings"]))
    console().print(table)


def _cache_summary(spec) -> str:
    counts: dict[str, int] = {}
    for kind in spec.layers:
        counts[kind.kind] = counts.get(kind.kind, 0) + 1
    if len(counts) == 1:
        return next(iter(counts)).replace("_", " ")
    return " + ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())


def _mla_dims(spec) -> str | None:
    """What an MLA model shows for head_dim: its query/key and value head sizes from spec.mla
    (DeepSeek-V3: q/k 128 + 64 = 192, v 128), not hidden_size / heads (7,168 / 128 = 56, a size
    no layer has). None when some layer is plain attention (its head_dim is then real)."""
    from kvplan.layers import FullAttention

    m = spec.mla
    if m is None or any(isinstance(k, FullAttention) for k in set(spec.layers)):
        return None
    qk = m.qk_nope_head_dim + m.qk_rope_head_dim
    return (f"n/a (MLA: q/k heads {m.qk_nope_head_dim} + {m.qk_rope_head_dim} = {qk}, v heads {m.v_head_dim}, "
            f"cache latent {m.kv_lora_rank} + rope {m.qk_rope_head_dim}; see mla)")


def show(
    model: Annotated[str, typer.Argument(help="Built-in name, spec YAML, config.json, checkpoint folder or Hub id.")],
    revision: Annotated[Optional[str], typer.Option("--revision", help="Hub branch, tag or commit.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a model's spec, its layer groups, and derived KV figures.

    Examples: kvplan show llama3-8b;  kvplan show ./Qwen3-8B/;  kvplan show Qwen/Qwen3-8B --revision main
    """
    from kvplan.footprint import footprint, supported_formats
    from kvplan.formats import FORMATS
    from kvplan.loader import load_model
    from kvplan.report import spec_dict

    spec = load_model(model, revision=revision)
    warn_assumptions(spec)
    usable, _ = supported_formats(spec, FORMATS.values())
    at_max = {f.name: footprint(spec, f, spec.max_position_embeddings) for f in usable}
    mla = _mla_dims(spec)
    derived = {
        "head_dim_source": ("n/a (MLA: see spec.mla)" if mla else
                            "config" if spec.head_dim_explicit else "hidden_size / num_attention_heads"),
        "bytes_per_token": {name: fp.bytes_per_token for name, fp in at_max.items()},
        "seq_bytes_at_max_position_embeddings": {name: fp.seq_bytes for name, fp in at_max.items()},
    }
    if json_out:
        d = spec_dict(spec)
        if mla:  # not a dimension of the model: its heads are the MLA ones (spec.mla)
            d.update(head_dim=None, v_head_dim=None)
        print_json({"spec": d, "derived": derived})
        return
    from rich.table import Table

    from rich.text import Text

    from kvplan.text import printable

    con = console()
    con.print(Text.assemble((printable(spec.display_name), "bold"), printable(f" ({spec.name})  source: {spec.source}")))
    if spec.aliases:
        con.print(f"aliases: {', '.join(spec.aliases)}")
    facts = Table(show_header=False, box=None, pad_edge=False)
    facts.add_column(style="dim")
    facts.add_column()
    d = spec_dict(spec)
    for key in ("architecture", "num_layers", "hidden_size", "num_attention_heads", "num_kv_heads", "head_dim",
                "v_head_dim", "vocab_size", "intermediate_size", "tie_word_embeddings", "dtype",
                "max_position_embeddings", "moe", "mla", "weights_format"):
        value = d.get(key)
        if value in (None, "", {}):
            continue
        if key == "head_dim":
            value = mla or f"{value} (from {derived['head_dim_source']})"
        elif key == "v_head_dim" and mla:
            continue  # in the head_dim line
        facts.add_row(key, str(value))
    con.print(facts)
    groups = Table(title="cache layout", title_justify="left")
    for col in ("group", "layers", "cache"):
        groups.add_column(col)
    for g in spec.groups:
        groups.add_row(g.label, _ranges(g.layers), g.kind.describe())
    con.print(groups)
    per = Table(title=f"KV per token and per sequence at {tok(spec.max_position_embeddings)}", title_justify="left")
    for col in ("format", "bytes/token", "per sequence"):
        per.add_column(col, justify="right" if col != "format" else "left")
    for name, fp in at_max.items():
        per.add_row(name, b(fp.bytes_per_token), gib(fp.seq_bytes))
    con.print(per)
    if spec.notes:
        con.print(f"notes: {spec.notes}")
    for line in spec.assumptions:
        con.print(f"assumed: {line}")
    if spec.weights_unknown:
        con.print(f"weights need: {'; '.join(spec.weights_unknown)}")


def _ranges(layers: tuple[int, ...]) -> str:
    """(0, 1, 2, 5, 7, 8) -> '0-2, 5, 7-8' (with a count)."""
    parts, start, prev = [], None, None
    for i in layers:
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            parts.append(f"{start}-{prev}" if prev != start else f"{start}")
            start = prev = i
    parts.append(f"{start}-{prev}" if prev != start else f"{start}")
    text = ", ".join(parts)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{len(layers)}: {text}"


def schema() -> None:
    """Print the JSON Schema of a model spec (YAML specs follow it)."""
    from kvplan.schema import json_schema

    print_json(json_schema())


def import_config(
    config: Annotated[str, typer.Argument(help="A Hugging Face config.json, a folder holding one, or a Hub repo id.")],
    output: Annotated[Optional[str], typer.Option("-o", "--output", help="Write the spec here (default: stdout).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Spec name (default: from the config).")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Where the config came from (a URL).")] = None,
    ignore: Annotated[
        Optional[list[str]],
        typer.Option("--ignore", help="Skip this config field (repeatable): the spec is then a draft to correct by hand."),
    ] = None,
    revision: Annotated[Optional[str], typer.Option("--revision", help="Hub branch, tag or commit.")] = None,
) -> None:
    """Turn a Hugging Face config.json into a kvplan spec YAML.

    Every field of the config is understood, known not to matter, or reported: a field
    that may shape the KV cache and that kvplan does not read stops the import with its
    name. `--ignore FIELD` writes the spec anyway, with the field listed under
    `assumptions`, for you to correct by hand (see docs/import.md). A Hub repo id
    (org/name, org/name@revision, or --revision) is fetched with huggingface_hub
    (pip install 'kvplan[hub]'; HF_TOKEN, HF_ENDPOINT, HF_HUB_OFFLINE are honoured).

    Examples: kvplan import ./Llama-3.1-8B/config.json -o llama.yaml;
    kvplan import Qwen/Qwen3-8B --revision main -o qwen3.yaml;
    kvplan import cfg.json --ignore local_window_layout -o draft.yaml
    """
    from pathlib import Path

    from kvplan.errors import BadInputError
    from kvplan.hf import spec_mapping_from_hf_config
    from kvplan.loader import looks_like_path, read_hf_config
    from kvplan.outputs import atomic_write_text, check_writable
    from kvplan.spec import spec_from_mapping

    if output:
        check_writable(output, "-o")
    header_dtype = None
    hub_ref = None
    if not looks_like_path(config) and "/" in config:
        from kvplan.hf.hub import parse_repo_ref

        hub_ref = parse_repo_ref(config)
    if hub_ref is not None:
        from kvplan.hf.checkpoint import served_dtype_from_headers
        from kvplan.hf.hub import fetch_hub_config

        got = fetch_hub_config(hub_ref[0], revision or hub_ref[1])
        data, origin, source = got.config, got.origin, source or got.source
        header_dtype = served_dtype_from_headers(got.checkpoint) if got.checkpoint is not None else None
    else:
        if revision:
            raise BadInputError(f"--revision {revision}: {config} is a local path, not a Hub repo id")
        path = Path(config)
        if path.is_dir():
            path = path / "config.json"
        data, origin = read_hf_config(path), str(path)
    mapping = spec_mapping_from_hf_config(data, origin=origin, name=name, source=source,
                                          ignore=tuple(ignore or ()), header_dtype=header_dtype)
    spec_from_mapping(mapping, origin)  # validate before writing anything
    text = dump_spec_yaml(mapping)
    if output:
        atomic_write_text(output, text, "-o")
        from kvplan.cli.common import stderr_line

        stderr_line(f"wrote {output} ({mapping['name']})")
    else:
        print(text, end="")


def dump_spec_yaml(mapping: dict) -> str:
    """Block style, except short mappings and lists of plain values (``{kind: mla}``, ``[a, b]``)."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _scalar(v) -> bool:
        return not isinstance(v, (dict, list))

    def _dict(dumper, data):
        flow = len(data) <= 4 and all(_scalar(v) for v in data.values())
        return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)

    def _list(dumper, data):
        flow = all(_scalar(v) for v in data) and sum(len(str(v)) for v in data) < 80  # not long sentences
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    _Dumper.add_representer(dict, _dict)
    _Dumper.add_representer(list, _list)
    return yaml.dump(mapping, Dumper=_Dumper, sort_keys=False, width=100)


def register(app: typer.Typer) -> None:
    app.command("models")(models)
    app.command("show")(show)
    app.command("schema")(schema)
    app.command("import")(import_config)
