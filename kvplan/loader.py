"""Reading model specs: built-in names, spec files (YAML or JSON), HF config.json,
checkpoint folders and Hub repo ids.

``load_model(ref)`` is the one entry point. ``ref`` is tried as a path first (a spec
file, or a Hugging Face config.json, or a folder holding one, with its safetensors files if
any), then as a built-in name (case-insensitive, with aliases: ``llama-3-8b`` and
``Meta-Llama-3-8B`` both find ``llama3-8b``), then as a Hub repo id (``org/name[@rev]``,
read by kvplan.hf.hub). YAML is read with the safe loader: no Python objects are constructed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import lru_cache
from pathlib import Path

from kvplan.errors import BadInputError, SpecError, UnknownNameError
from kvplan.spec import ModelSpec, spec_from_mapping

try:  # the C loader is several times faster; both are "safe" (no object construction)
    from yaml import CSafeLoader as _YamlLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _YamlLoader


def read_yaml(path: Path) -> object:
    return _parse_yaml(_read_text(path), path)


def _parse_yaml(text: str, path: Path) -> object:
    import yaml

    try:
        return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise SpecError(f"{path}: malformed YAML{where}: {problem}") from None


def read_json(path: Path) -> object:
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"{path}: malformed JSON (line {err.lineno}, column {err.colno}): {err.msg}") from None


def _read_text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInputError(f"{path}: is a directory") from None
    except UnicodeDecodeError:
        raise BadInputError(f"{path}: not a UTF-8 text file") from None
    except OSError as err:
        raise BadInputError(f"{path}: cannot read ({err.strerror})") from None


def read_structured(path: Path) -> object:
    """YAML or JSON by extension (``.json`` is JSON, everything else YAML)."""
    path = Path(path)
    return read_json(path) if path.suffix.lower() == ".json" else read_yaml(path)


# -- built-in specs ------------------------------------------------------------------------
def _specs_dir() -> Path:
    import kvplan.model_specs

    return Path(kvplan.model_specs.__file__).parent


def normalize_name(name: str) -> str:
    """Key for fuzzy-exact matching: ``Meta-Llama-3-8B`` and ``llama-3-8b`` -> ``llama38b``."""
    key = str(name).strip().lower()
    key = key.rsplit("/", 1)[-1]  # drop an org prefix: meta-llama/...
    key = re.sub(r"[-_.](instruct|chat|hf|it|base)$", "", key)
    key = re.sub(r"^meta[-_]", "", key)
    return re.sub(r"[^a-z0-9.]", "", key)


@lru_cache(maxsize=1)
def builtin_names() -> tuple[str, ...]:
    """Canonical names of the built-in specs (their file names), sorted."""
    return tuple(
        sorted(p.name[: -len(".yaml")] for p in _specs_dir().iterdir() if p.name.endswith(".yaml"))
    )


@lru_cache(maxsize=1)
def _alias_index() -> dict[str, str]:
    """normalized alias -> canonical name, from every built-in spec's name and aliases.

    Only built when a name is not found by its file name (it reads every spec)."""
    index: dict[str, str] = {}
    for name in builtin_names():
        data = read_yaml(_specs_dir() / f"{name}.yaml")
        for alias in [name, *(data.get("aliases") or []), data.get("display_name") or name]:
            index.setdefault(normalize_name(alias), name)
    return index


def resolve_builtin(name: str) -> str:
    """Canonical built-in name for ``name``, or UnknownNameError with the closest names."""
    names = builtin_names()
    low = str(name).strip().lower()
    if low in names:
        return low
    key = normalize_name(name)
    by_file = {normalize_name(n): n for n in names}
    if key in by_file:
        return by_file[key]
    index = _alias_index()
    if key in index:
        return index[key]
    # Suggest by the normalized form too, so "meta-llama/Llama-3.3-70B-Instruct" finds llama3-70b ...
    from kvplan.errors import close_names

    near = [index[k] for k in close_names(key, index, n=6)]
    suggestions = list(dict.fromkeys(close_names(name, names) + near))[:3]
    raise UnknownNameError("model", name, names, "see `kvplan models`, or pass a spec YAML or config.json path",
                           suggestions=suggestions)


@lru_cache(maxsize=None)
def load_builtin(name: str) -> ModelSpec:
    canonical = resolve_builtin(name)
    path = _specs_dir() / f"{canonical}.yaml"
    return _load_validated(path, f"{canonical}.yaml")


# -- a cache of validated specs ----------------------------------------------------------
# Building the pydantic schema costs more than the rest of `kvplan size` together, so
# a spec file that validated once is kept as plain JSON (its validated, defaulted form),
# keyed by a hash of the file and of the schema module. JSON, not pickle: the cache can
# never run code. Set KVPLAN_NO_CACHE=1 to bypass it; KVPLAN_CACHE_DIR to move it.
def cache_dir() -> Path | None:
    if os.environ.get("KVPLAN_NO_CACHE", "") not in ("", "0"):
        return None
    root = os.environ.get("KVPLAN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "kvplan"
    )
    return Path(root) / "specs"


@lru_cache(maxsize=1)
def _schema_fingerprint() -> str:
    import kvplan

    return hashlib.sha256(Path(kvplan.__file__).with_name("schema.py").read_bytes()).hexdigest()[:16]


def _load_validated(path: Path, origin: str) -> ModelSpec:
    from kvplan.spec import build_spec

    text = _read_text(path)
    folder = cache_dir()
    entry = None
    if folder is not None:
        key = hashlib.sha256(text.encode() + _schema_fingerprint().encode()).hexdigest()[:32]
        entry = folder / f"{key}.json"
        try:
            return build_spec(json.loads(entry.read_text(encoding="utf-8")), origin)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # missing or unreadable: validate afresh
    from kvplan.schema import validate_spec

    data = _parse_yaml(text, path)
    validated = validate_spec(data, origin)
    spec = build_spec(validated, origin)
    if entry is not None:
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = entry.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(validated), encoding="utf-8")
            os.replace(tmp, entry)
        except OSError:
            pass  # a read-only home is fine: just slower
    return spec


def load_spec_file(path: Path) -> ModelSpec:
    """A kvplan spec in YAML or JSON, or a Hugging Face config.json."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    data = read_structured(path)
    if isinstance(data, dict) and is_hf_config(data):
        from kvplan.hf import spec_from_hf_config
        from kvplan.hf.checkpoint import read_folder

        # A config.json next to safetensors files is a checkpoint: weights from its headers.
        checkpoint = read_folder(path.parent) if path.name == "config.json" else None
        return spec_from_hf_config(data, origin=str(path), checkpoint=checkpoint)
    return spec_from_mapping(data, str(path))


def is_hf_config(data: dict) -> bool:
    """A Hugging Face config.json rather than a kvplan spec (which always has `source`)."""
    return "source" not in data and any(k in data for k in ("model_type", "architectures", "text_config"))


def looks_like_path(ref: str) -> bool:
    """A file or folder that exists, or anything named like a spec file. A missing
    ``org/name`` is a Hugging Face repo id, looked up among the built-ins' aliases."""
    return (
        ref.lower().endswith((".yaml", ".yml", ".json"))
        or ref.startswith((".", "/", "~"))
        or Path(ref).exists()
    )


def load_model(ref: str, revision: str | None = None) -> ModelSpec:
    """Built-in name, spec path, config.json or checkpoint folder, or Hub repo id
    (``org/name``, ``org/name@revision``) -> ModelSpec.

    A name that matches a built-in (its aliases include Hub ids) resolves without the
    network; any other ``org/name`` is read from the Hub (kvplan.hf.hub: config.json and
    the safetensors headers). huggingface_hub is imported only then."""
    ref = str(ref)
    if not ref.strip():
        raise BadInputError("model: empty name")
    if looks_like_path(ref):
        if revision:
            raise BadInputError(f"--revision {revision}: {ref} is a local path, not a Hub repo id")
        return load_spec_file(Path(ref).expanduser())
    hub_ref = None
    if "/" in ref:  # only then is kvplan.hf.hub imported (start-up of built-in names is unchanged)
        from kvplan.hf.hub import parse_repo_ref

        hub_ref = parse_repo_ref(ref)
    if hub_ref is not None and (revision or hub_ref[1]):  # a pinned revision is always the Hub's
        return _load_hub(hub_ref[0], revision or hub_ref[1])
    if revision:
        raise BadInputError(f"--revision {revision}: {ref} is not a Hub repo id (org/name); built-in models "
                            "have no revisions")
    try:
        return load_builtin(ref)
    except UnknownNameError as err:
        if hub_ref is None:
            raise
        near = err.suggestions
    return _load_hub(*hub_ref, near=near)


def _load_hub(repo_id: str, revision: str | None, near: list[str] = ()) -> ModelSpec:
    """A Hub repo's spec; when the Hub cannot give it, the one-line error also names the
    built-in models with a close name."""
    from kvplan.hf.hub import load_hub_model

    try:
        return load_hub_model(repo_id, revision)
    except BadInputError as err:
        if not near:
            raise
        raise BadInputError(f"{err}; built-in models with a close name: {', '.join(near)}") from None


def load_all_builtins() -> list[ModelSpec]:
    return [load_builtin(n) for n in builtin_names()]
