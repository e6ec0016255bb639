"""Write kvplan/data/engine_models.json: which model architectures (config.json
``architectures[0]``) each modelled engine release has a model class for.

    python tools/engine_models.py --vllm DIR --sglang DIR

``--vllm DIR`` holds one unpacked vLLM wheel per modelled release as ``DIR/vX.Y.Z/vllm/``
(kvplan.engines.vllm_rules.RELEASES); ``--sglang DIR`` holds the published SGLang wheels
``sglang-X.Y.Z-*.whl`` (kvplan.engines.sglang.RELEASES; pure-Python up to 0.5.8, 0.5.23 is a
cp311 manylinux wheel, as are 0.5.11-0.5.17 and 0.5.22). Without ``--vllm`` the vLLM table already in the output is kept. Nothing is copied
from either project but the class names:

  * vLLM: the keys of ``_VLLM_MODELS`` in vllm/model_executor/models/registry.py (every
    table it merges: text generation, multimodal, pooling, speculative), less the
    Transformers-backend classes (``Transformers*``), which stand for a fallback kvplan
    does not model;
  * SGLang: the ``EntryClass`` of every module in sglang/srt/models/ (what
    ModelRegistry registers by class name), less ``Transformers*`` likewise.

Each architecture is stored as the runs of consecutive modelled releases that have it.
"""

from __future__ import annotations

import argparse
import ast
import json
import zipfile
from pathlib import Path


def _dict_keys(tree: ast.Module) -> dict[str, tuple[list[str], list[str]]]:
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        else:
            continue
        if isinstance(value, ast.Dict):
            keys = [k.value for k in value.keys if isinstance(k, ast.Constant)]
            merged = [v.id for k, v in zip(value.keys, value.values) if k is None and isinstance(v, ast.Name)]
            out[name] = (keys, merged)
    return out


def vllm_architectures(root: Path) -> set[str]:
    tables = _dict_keys(ast.parse((root / "vllm/model_executor/models/registry.py").read_text()))
    keys, merged = tables["_VLLM_MODELS"]
    archs = set(keys)
    for name in merged:
        if name in tables:
            archs.update(tables[name][0])
    return {a for a in archs if not a.startswith("Transformers")}


def sglang_architectures(wheel: Path) -> set[str]:
    archs = set()
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if not (name.startswith("sglang/srt/models/") and name.endswith(".py")):
                continue
            for node in ast.parse(z.read(name)).body:
                if isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "EntryClass" for t in node.targets):
                    value = node.value
                    items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
                    archs.update(v.id for v in items if isinstance(v, ast.Name))
    return {a for a in archs if not a.startswith("Transformers")}


def runs(per_release: dict[str, set[str]]) -> dict[str, list[list[str]]]:
    releases = list(per_release)
    out = {}
    for arch in sorted(set().union(*per_release.values())):
        spans, cur = [], None
        for r in releases:
            if arch in per_release[r]:
                cur = [r, r] if cur is None else [cur[0], r]
            elif cur is not None:
                spans.append(cur)
                cur = None
        if cur is not None:
            spans.append(cur)
        out[arch] = spans
    return out


def _one(paths, release: str) -> Path:
    found = sorted(paths)
    if len(found) != 1:
        raise SystemExit(f"sglang {release}: expected one wheel sglang-{release}-*.whl, found {len(found)}")
    return found[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vllm", type=Path, help="omit to keep the vLLM table already written")
    ap.add_argument("--sglang", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "kvplan/data/engine_models.json")
    args = ap.parse_args()
    from kvplan.engines import sglang, vllm_rules

    sgl = {r: sglang_architectures(_one(args.sglang.glob(f"sglang-{r}-*.whl"), r)) for r in sglang.RELEASES}
    if args.vllm is not None:
        vllm = {r: vllm_architectures(args.vllm / f"v{r}") for r in vllm_rules.RELEASES}
        vllm_table = {"source": "vllm/model_executor/models/registry.py: keys of _VLLM_MODELS (no Transformers* "
                                "backend classes), each release's published wheel",
                      "architectures": runs(vllm)}
    else:
        vllm, vllm_table = {}, json.loads(args.out.read_text())["vllm"]
    data = {
        "vllm": vllm_table,
        "sglang": {"source": "sglang/srt/models/*.py: EntryClass names (ModelRegistry; no Transformers* "
                             "backend classes), each release's published wheel",
                   "architectures": runs(sgl)},
    }
    args.out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    for name, per in (("vllm", vllm), ("sglang", sgl)):
        print(name, ", ".join(f"{r}: {len(a)}" for r, a in per.items()))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
