"""Hub repo ids (``org/name``, ``org/name@revision``): config.json and the safetensors headers,
read with ``huggingface_hub`` (the optional extra ``kvplan[hub]``).

``config.json`` and ``model.safetensors.index.json`` are downloaded through the Hub cache
(``hf_hub_download``); each shard's header is read with HTTP range requests
(``HfApi.parse_safetensors_file_metadata``: the first 100 kB, then the rest of the header if
longer, bounded at 25 MB), never the weights. The environment is read at call time:
``HF_ENDPOINT`` (another Hub, or a mirror), ``HF_TOKEN`` (gated repos; else the token
``huggingface-cli login`` stored), ``HF_HUB_OFFLINE`` (cache only: config and index from the
cache, shard headers from cached shards), ``HF_HUB_CACHE`` / ``HF_HOME`` (where the cache is).

Every failure is one line (BadInputError, exit 2): a gated or missing repo, a missing
revision or file, no network.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from dataclasses import dataclass

from kvplan.errors import BadInputError, NeedsExtraError

#: ``org/name`` or ``org/name@revision`` (Hub repo-id characters: letters, digits, - _ .).
REPO_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*)(?:@(?P<rev>[^\s@]+))?$")


def parse_repo_ref(ref: str) -> tuple[str, str | None] | None:
    """(repo_id, revision) when ``ref`` is written like a Hub repo id, else None."""
    m = REPO_ID.match(ref.strip())
    if not m or m.group("repo").endswith((".json", ".yaml", ".yml")):
        return None
    return m.group("repo"), m.group("rev")


@dataclass(frozen=True)
class HubEnv:
    endpoint: str | None
    token: str | None
    offline: bool
    cache_dir: str | None

    @classmethod
    def from_environ(cls) -> HubEnv:
        env = os.environ
        cache = env.get("HF_HUB_CACHE") or (os.path.join(env["HF_HOME"], "hub") if env.get("HF_HOME") else None)
        offline = (env.get("HF_HUB_OFFLINE") or env.get("TRANSFORMERS_OFFLINE") or "").strip().lower()
        return cls(endpoint=(env.get("HF_ENDPOINT") or None), token=env.get("HF_TOKEN") or None,
                   offline=offline in ("1", "on", "yes", "true"), cache_dir=cache)


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise NeedsExtraError("huggingface_hub", "hub", "reading a model from the Hugging Face Hub") from None
    return huggingface_hub


@contextlib.contextmanager
def _session(hub, env: HubEnv):
    """huggingface_hub set as the environment says now (its offline switch is read once, at
    import), without its progress bars and retry warnings on our stderr; restored after."""
    from huggingface_hub import constants
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    log = logging.getLogger("huggingface_hub")
    saved = (constants.HF_HUB_OFFLINE, log.level, are_progress_bars_disabled())
    constants.HF_HUB_OFFLINE = env.offline
    log.setLevel(logging.ERROR)
    disable_progress_bars()
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved[0]
        log.setLevel(saved[1])
        if not saved[2]:
            enable_progress_bars()


def _download(hub, env: HubEnv, repo_id: str, filename: str, revision: str | None) -> str:
    """A file through the Hub cache. Not cached and online: one HEAD without retries first, so
    that no network fails in seconds, not after huggingface_hub's five retries."""
    if not env.offline and not isinstance(
            hub.try_to_load_from_cache(repo_id, filename, cache_dir=env.cache_dir, revision=revision), str):
        url = hub.hf_hub_url(repo_id, filename, revision=revision, endpoint=env.endpoint)
        hub.get_hf_file_metadata(url, token=env.token, endpoint=env.endpoint)
    return hub.hf_hub_download(repo_id, filename, revision=revision, token=env.token, endpoint=env.endpoint,
                               cache_dir=env.cache_dir, local_files_only=env.offline)


def _fail(err: Exception, repo_id: str, revision: str | None, what: str) -> BadInputError:
    """One line for whatever huggingface_hub raised."""
    from huggingface_hub import errors

    at = f"{repo_id}@{revision}" if revision else repo_id
    if isinstance(err, errors.GatedRepoError):
        why = "is gated: accept its license on the Hub and set HF_TOKEN (or huggingface-cli login)"
    elif isinstance(err, errors.RevisionNotFoundError):
        why = f"has no revision {revision!r}"
    elif isinstance(err, errors.RepositoryNotFoundError):
        why = "is not a Hub repo (or is private: set HF_TOKEN)"
    elif isinstance(err, errors.LocalEntryNotFoundError):
        why = (f"{what} is not in the Hub cache and the Hub cannot be reached"
               + (" (HF_HUB_OFFLINE is set)" if HubEnv.from_environ().offline else ""))
    elif isinstance(err, errors.EntryNotFoundError):
        why = f"has no {what}"
    elif isinstance(err, (OSError, ConnectionError)) or "Connect" in type(err).__name__ \
            or "Timeout" in type(err).__name__:
        where = HubEnv.from_environ().endpoint or "https://huggingface.co"
        why = f"the Hub at {where} cannot be reached ({type(err).__name__})"
    elif isinstance(err, errors.HfHubHTTPError):
        status = getattr(getattr(err, "response", None), "status_code", "?")
        why = f"answered HTTP {status} for {what}"
    else:
        why = f"could not be read ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
    return BadInputError(f"{at}: {why}")


def load_hub_model(repo_id: str, revision: str | None = None):
    """The ModelSpec of Hub repo ``repo_id`` (config.json), with its checkpoint's headers
    when the repo holds safetensors files."""
    from kvplan.hf.convert import spec_from_hf_config

    got = fetch_hub_config(repo_id, revision)
    return spec_from_hf_config(got.config, got.origin, checkpoint=got.checkpoint, source=got.source,
                               extra_assumptions=got.notes)


@dataclass(frozen=True)
class HubConfig:
    """What the Hub gave for one repo: its config.json, the checkpoint's headers (None when
    it has no safetensors files or they cannot be read offline), where it came from."""

    config: dict
    checkpoint: object
    origin: str  # org/name[@revision]
    source: str  # the config.json's URL
    notes: tuple[str, ...] = ()


def fetch_hub_config(repo_id: str, revision: str | None = None) -> HubConfig:
    """config.json and the safetensors headers of Hub repo ``repo_id`` (one line on failure)."""
    from kvplan.loader import read_json

    hub = _hub()
    env = HubEnv.from_environ()
    with _session(hub, env):
        try:
            path = _download(hub, env, repo_id, "config.json", revision)
        except Exception as err:  # noqa: BLE001 - every Hub failure becomes one line
            raise _fail(err, repo_id, revision, "config.json") from None
        config = read_json(path)
        ckpt, note = hub_checkpoint(repo_id, revision, env)
    origin = f"{repo_id}@{revision}" if revision else repo_id
    base = (env.endpoint or "https://huggingface.co").rstrip("/")
    return HubConfig(config, ckpt, origin, f"{base}/{repo_id}/blob/{revision or 'main'}/config.json", note)


def hub_checkpoint(repo_id: str, revision: str | None, env: HubEnv):
    """(Checkpoint or None, assumptions): the safetensors headers of a Hub repo."""
    from kvplan.hf.checkpoint import INDEX, SINGLE, Checkpoint, check_index, shard_names
    from kvplan.hf.safetensors import read_header
    from kvplan.loader import read_json

    hub = _hub()
    from huggingface_hub import errors

    try:
        index_path = _download(hub, env, repo_id, INDEX, revision)
        index = read_json(index_path)
        files = shard_names(index, f"{repo_id}: {INDEX}")
    except errors.EntryNotFoundError:
        index, files = None, [SINGLE]
    except errors.LocalEntryNotFoundError:
        if not env.offline:
            raise _fail(errors.LocalEntryNotFoundError(INDEX), repo_id, revision, INDEX) from None
        index, files = None, [SINGLE]
    except Exception as err:  # noqa: BLE001
        raise _fail(err, repo_id, revision, INDEX) from None
    tensors = []
    api = hub.HfApi(endpoint=env.endpoint, token=env.token)
    for name in files:
        cached = hub.try_to_load_from_cache(repo_id, name, cache_dir=env.cache_dir, revision=revision)
        if isinstance(cached, str):
            tensors += read_header(cached)
            continue
        if env.offline:
            return None, ("offline (HF_HUB_OFFLINE) and the safetensors files are not in the Hub cache: weights "
                          "counted from the architecture",)
        try:
            meta = api.parse_safetensors_file_metadata(repo_id, name, revision=revision, token=env.token)
        except errors.EntryNotFoundError:
            if index is None:  # no model.safetensors and no index: .bin or other formats
                return None, ("the repo has no model.safetensors or index: weights counted from the architecture",)
            raise _fail(errors.EntryNotFoundError(name), repo_id, revision, name) from None
        except Exception as err:  # noqa: BLE001
            raise _fail(err, repo_id, revision, name) from None
        tensors += _tensor_infos(meta, f"{repo_id}: {name}")
    tensors = tuple(tensors)
    if index is not None:
        check_index(index, tensors, f"{repo_id}: {INDEX}")
    return Checkpoint(f"{repo_id}@{revision}" if revision else repo_id, tensors), ()


def _tensor_infos(meta, where: str) -> list:
    """huggingface_hub's SafetensorsFileMetadata -> kvplan TensorInfo (dtype checked)."""
    from kvplan.hf.safetensors import DTYPE_BITS, TensorInfo

    out = []
    for name, t in meta.tensors.items():
        if t.dtype not in DTYPE_BITS:
            raise BadInputError(f"{where}: tensor {name!r} has dtype {t.dtype!r}, not one safetensors defines")
        out.append(TensorInfo(name, t.dtype, tuple(t.shape)))
    return out
