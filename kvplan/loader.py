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
import stat
from functools import lru_cache
from pathlib import Path

from kvplan.errors import BadInputError, KvplanError, SpecError, UnknownNameError
from kvplan.spec import ModelSpec, spec_from_mapping

try:  # the C loader is several times faster; both are "safe" (no object construction)
    from yaml import CSafeLoader as _YamlLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _YamlLoader

import yaml

from kvplan import limits


class _StrictLoader(_YamlLoader):
    """The safe loader, refusing what YAML reads silently differently from what was meant:
    a key given twice (YAML keeps the last), and integers with a leading zero (YAML 1.1
    octal: ``032`` is 26) or a colon (YAML 1.1 base 60: ``1:20`` is 80)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (YAML would keep only the last; give it once)",
                        key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node):
        text = str(self.construct_scalar(node))
        body = text.replace("_", "").lstrip("+-")
        if len(body) > limits.MAX_NUMBER_CHARS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number of {len(body):,} digits is beyond every limit of kvplan", node.start_mark)
        if ":" in body:
            raise yaml.constructor.ConstructorError(
                None, None, f"{text!r} is a base-60 number in YAML 1.1; write the value in decimal or quote it",
                node.start_mark)
        if len(body) > 1 and body[0] == "0" and body[1] not in "xXbBoO":
            raise yaml.constructor.ConstructorError(
                None, None, f"{text!r} has a leading zero, which YAML 1.1 reads as octal ({int(body, 8)}); "
                            f"write {body.lstrip('0') or '0'}", node.start_mark)
        return super().construct_yaml_int(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def read_yaml(path: Path) -> object:
    return _parse_yaml(_read_text(path), path)


def _package_file(path: Path) -> bool:
    """A file shipped with kvplan (built-in specs, the GPU catalog): trusted, not re-checked."""
    try:
        real = Path(path).resolve()
    except (OSError, RuntimeError):
        return False
    return any(real.is_relative_to(d) for d in _package_dirs())


@lru_cache(maxsize=1)
def _package_dirs() -> tuple[Path, ...]:
    import kvplan

    return (Path(kvplan.__file__).resolve().parent, _specs_dir().resolve())


def _yaml_error(err: yaml.YAMLError, path: Path) -> SpecError:
    mark = getattr(err, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return SpecError(f"{path}: malformed YAML{where}: {problem}")


def _check_yaml_depth(text: str, path: Path) -> None:
    """Refuse a document nested deeper than MAX_NESTING_DEPTH before building it: libyaml's
    composer recurses in C once per level and crashes the process at about 10,000 levels.
    Reading the event stream is iterative and stops at the first level too deep."""
    loader = _StrictLoader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > limits.MAX_NESTING_DEPTH:
                    raise SpecError(_too_deep(path))
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    finally:
        loader.dispose()


def _too_deep(path: Path) -> str:
    return (f"{path}: nested more than {limits.MAX_NESTING_DEPTH} levels deep (specs, configs and plans nest a few "
            f"levels; see docs/limits.md)")


def _parse_yaml(text: str, path: Path) -> object:
    try:
        if not _package_file(path):
            _check_yaml_depth(text, path)
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as err:
        if "maximum nesting depth" in str(err):
            # libyaml >= 0.2.6 (PyYAML 6.0.4 wheels) stops at 1,000 levels itself, while scanning
            # ahead through a flow collection, before kvplan's event check sees level 65
            raise SpecError(_too_deep(path)) from None
        raise _yaml_error(err, path) from None
    except RecursionError:
        raise SpecError(_too_deep(path)) from None
    return check_nesting(data, path)


class _JsonRefused(ValueError):
    pass


def _json_pairs(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _JsonRefused(f"duplicate key {key!r} (JSON readers keep only the last; give it once)")
        out[key] = value
    return out


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > limits.MAX_NUMBER_CHARS:
        raise _JsonRefused(f"a number of {len(text.lstrip('-')):,} digits is beyond every limit of kvplan")
    return int(text)


def read_json(path: Path) -> object:
    """A JSON file (at most MAX_INPUT_BYTES), read as ``loads_json`` reads text."""
    return loads_json(_read_text(path), path)


def loads_json(text: str, origin: Path | str) -> object:
    """JSON text from a file, an option or a header, refusing duplicate keys, integers past
    every limit and nesting deeper than MAX_NESTING_DEPTH (one-line SpecError naming ``origin``)."""
    try:
        # NaN/Infinity stay as Python reads them: real config.json files hold them (mamba-codestral's
        # time_step_limit); the readers refuse a non-integer where they need an integer.
        data = json.loads(text, object_pairs_hook=_json_pairs, parse_int=_json_int)
    except json.JSONDecodeError as err:
        raise SpecError(f"{origin}: malformed JSON (line {err.lineno}, column {err.colno}): {err.msg}") from None
    except _JsonRefused as err:
        raise SpecError(f"{origin}: {err}") from None
    except RecursionError:
        raise SpecError(_too_deep(origin)) from None
    return check_nesting(data, origin)


def check_nesting(data: object, path: Path | str) -> object:
    """``data`` if it nests at most MAX_NESTING_DEPTH levels and holds at most MAX_VALUES values
    once YAML aliases are expanded (an alias that refers to itself nests forever)."""
    stack = [(data, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > limits.MAX_VALUES:
            raise SpecError(f"{path}: more than {limits.MAX_VALUES:,} values (YAML aliases included; "
                            f"see docs/limits.md)")
        if isinstance(value, (dict, list)):
            if depth > limits.MAX_NESTING_DEPTH:
                raise SpecError(_too_deep(path))
            items = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in items)
    return data


def read_bytes(path: Path, limit: int = limits.MAX_INPUT_BYTES, what: str = "input file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, read with that bound.

    Refused in one line (BadInputError): a missing file, a folder, anything that is not a
    regular file (a FIFO nobody writes would hang, /dev/zero never ends), a file over the
    limit, and every OS error (a symlink loop, a name too long, no permission)."""
    fd = open_regular(path, limit, what)
    chunks, size = [], 0
    try:
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise BadInputError(_too_big(path, limit, what))
    except OSError as err:
        raise BadInputError(f"{path}: cannot read ({err.strerror or err})") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def _too_big(path: Path, limit: int, what: str) -> str:
    from kvplan.units import format_bytes

    return f"{path}: larger than the {format_bytes(limit, digits=0)} kvplan reads for an {what} (see docs/limits.md)"


_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket"))


def open_regular(path: Path, limit: int = limits.MAX_INPUT_BYTES, what: str = "input file") -> int:
    """An open, read-only descriptor of ``path`` when it is a regular file of at most
    ``limit`` bytes; one-line BadInputError otherwise. Opened without blocking, so a FIFO
    with no writer is refused at once instead of hanging."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInputError(f"{path}: is a directory") from None
    except OSError as err:
        raise BadInputError(f"{path}: cannot read ({err.strerror or err})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise BadInputError(f"{path}: is a directory")
        if not stat.S_ISREG(st.st_mode):
            kind = next((name for test, name in _FILE_KINDS if test(st.st_mode)), "not a file")
            raise BadInputError(f"{path}: not a regular file ({kind}); kvplan reads specs, configs, plans and "
                                f"traces from files")
        if st.st_size > limit:
            raise BadInputError(_too_big(path, limit, what))
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_regular_file(path: Path, limit: int = limits.MAX_INPUT_BYTES, what: str = "input file") -> Path:
    """``path`` when it is a regular file of at most ``limit`` bytes (see open_regular), for
    readers that open the file themselves (pandas, pyarrow)."""
    os.close(open_regular(path, limit, what))
    return Path(path)


def _read_text(path: Path) -> str:
    try:
        return read_bytes(Path(path)).decode("utf-8")
    except UnicodeDecodeError:
        raise BadInputError(f"{path}: not a UTF-8 text file") from None


def read_structured(path: Path) -> object:
    """YAML or JSON by extension (``.json`` is JSON, everything else YAML)."""
    path = Path(path)
    return read_json(path) if path.suffix.lower() == ".json" else read_yaml(path)


def read_hf_config(path: Path) -> object:
    """A Hugging Face config.json (read_json), with its layer count checked before any reader
    builds a list per layer."""
    data = read_json(path)
    if isinstance(data, dict):
        check_config_layers(data, str(path))
    return data


#: Keys of a config.json that give the number of decoder layers (kvplan.hf_import reads them).
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers")


def check_config_layers(data: dict, origin: str) -> None:
    """Refuse a config.json whose layer count is past MAX_LAYERS (its readers build lists
    and patterns with one entry per layer)."""
    for part in (data, data.get("text_config")):
        if not isinstance(part, dict):
            continue
        for key in _LAYER_KEYS:
            value = part.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > limits.MAX_LAYERS:
                raise SpecError(f"{origin}: {key}: {limits.show(value)} layers is beyond kvplan's limit of "
                                f"{limits.MAX_LAYERS:,} layers (see docs/limits.md)")


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
            return build_spec(json.loads(read_bytes(entry, what="cache entry")), origin)
        except (KvplanError, ValueError, KeyError, TypeError, RecursionError):
            pass  # missing or unreadable: validate afresh
    from kvplan.schema import validate_spec

    data = _parse_yaml(text, path)
    validated = validate_spec(data, origin)
    spec = build_spec(validated, origin)
    if entry is not None:
        from kvplan.outputs import atomic_write_text

        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(entry, json.dumps(validated), "cache entry")
        except (OSError, KvplanError):
            pass  # a read-only home is fine: just slower
    return spec


def load_spec_file(path: Path) -> ModelSpec:
    """A kvplan spec in YAML or JSON, or a Hugging Face config.json."""
    path = Path(path)
    if os.path.isdir(path):  # never raises: a name too long or a loop is reported by the read
        path = path / "config.json"
    data = read_structured(path)
    if isinstance(data, dict) and is_hf_config(data):
        from kvplan.hf import spec_from_hf_config
        from kvplan.hf.checkpoint import read_folder

        check_config_layers(data, str(path))
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
        or os.path.lexists(ref)
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
