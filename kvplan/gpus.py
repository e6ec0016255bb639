"""The GPU catalog: device memory as the runtime reports it, bandwidths, dense FLOP/s, links.

The data lives in ``kvplan/data/gpus.yaml`` (package data), one entry per product with the
source of every figure in a comment. Memory is, where a source exists, what
``cudaMemGetInfo`` / ``torch.cuda.get_device_properties().total_memory`` report: the figure
engines multiply by their memory fraction. An H100 80GB SXM reports 81,090 MiB = 79.19 GiB,
not 80 GB. ``memory_source`` says where each figure comes from (see ``MEMORY_SOURCES``).

Names resolve only by an exact match after normalization (case, spaces, dashes and a
leading NVIDIA/AMD/GeForce/Instinct/Tesla/Intel/Google are ignored) against an entry's
name, display name, aliases or driver names. ``get_gpu("h100")``, ``get_gpu("H100-SXM")``
and ``get_gpu("NVIDIA H100 80GB HBM3")`` all find ``h100-sxm``; ``get_gpu("h20")`` is the
H20 and never the H200. A family name that covers several products (``a100``) and any
unknown name raise UnknownNameError with the candidates; nothing is guessed by prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from kvplan.errors import BadInputError, SpecError, UnknownNameError, close_names

#: Where a catalog memory figure comes from, most to least exact for planning.
MEMORY_SOURCES = {
    "runtime": "what the framework runtime reports (torch total_memory / cudaMemGetInfo / hipMemGetInfo, "
               "or the total in a vLLM log): the figure engines size their pools from",
    "smi": "the management tool's total (nvidia-smi / hl-smi); a few hundred MiB above the runtime figure "
           "on NVIDIA parts (H100 SXM: 81,559 vs 81,090 MiB)",
    "datasheet": "the vendor's nameplate capacity; no runtime or smi figure was found",
    "custom": "given with --gpu-mem",
}

#: GPU-to-GPU and host link kinds the catalog uses.
LINK_KINDS = frozenset({
    "nvlink2", "nvlink3", "nvlink4", "nvlink5", "nvlink3-bridge", "nvlink4-bridge", "nvlink-c2c",
    "xgmi", "ici", "roce", "pcie3", "pcie4", "pcie5", "pcie6",
})

ENGINE_NAMES = frozenset({"vllm", "sglang", "trtllm"})

#: PCIe signalling rate per lane, GT/s, by generation (PCI-SIG base specifications 3.0 / 4.0 / 5.0).
#: Each uses 128b/130b line encoding, so a lane carries GT/s x 128/130 / 8 bytes per second in
#: each direction: x16 gen4 = 16e9 x 16 x 128 / 130 / 8 = 31,507,692,307 B/s (the datasheets'
#: "64 GB/s" is 16 GT/s x 16 / 8 x 2 directions, before encoding). This is the one PCIe figure
#: kvplan uses: host links, PCIe peer links and fragment's default link all derive from it. It
#: is the link's peak data rate; packet headers and DMA setup leave measured copies below it.
#: PCIe 6.0 (64 GT/s, PAM4, FLIT mode with its own overhead) has no rate here.
PCIE_GT_PER_S = {"pcie3": 8, "pcie4": 16, "pcie5": 32}
PCIE_LANES = (1, 2, 4, 8, 16)


def pcie_bytes_per_s(kind: str, lanes: int) -> int:
    """Bytes/s per direction of a PCIe link after 128b/130b encoding, rounded down (exact
    integers: 16 GT/s x 16 lanes -> 31,507,692,307)."""
    if kind not in PCIE_GT_PER_S:
        raise SpecError(f"{kind}: kvplan derives PCIe rates for {', '.join(PCIE_GT_PER_S)} only")
    if lanes not in PCIE_LANES:
        raise SpecError(f"{kind}: lanes must be one of {', '.join(map(str, PCIE_LANES))}, got {lanes!r}")
    return PCIE_GT_PER_S[kind] * 10**9 * lanes * 128 // (130 * 8)

_ENTRY_KEYS = frozenset({
    "name", "display_name", "vendor", "aliases", "driver_names", "memory", "memory_source", "hbm_bandwidth",
    "bf16_dense_flops", "fp8_dense_flops", "fp4_dense_flops", "fp16_dense_flops", "interconnect", "host_link",
    "tdp_watts", "engines", "compute_capability", "compute_units",
})


@dataclass(frozen=True)
class Link:
    """One link: its kind and its bandwidth per direction per GPU in bytes/s (None: unpublished)."""

    kind: str
    bytes_per_s: int | None
    lanes: int | None = None  # PCIe links: the lane count the rate derives from (pcie_bytes_per_s)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "bytes_per_s": self.bytes_per_s}

    def describe(self) -> str:
        """'pcie5 x16, 63.02 GB/s' / 'nvlink-c2c, 450 GB/s' (per direction)."""
        lanes = f" x{self.lanes}" if self.lanes else ""
        rate = "n/a" if self.bytes_per_s is None else f"{self.bytes_per_s / 1e9:.4g} GB/s"
        return f"{self.kind}{lanes}, {rate}"


@dataclass(frozen=True)
class GPU:
    """One accelerator. Integers: bytes, bytes/s, FLOP/s; None where no source gives the figure."""

    name: str
    display_name: str
    memory_bytes: int
    hbm_bandwidth_bytes_per_s: int | None
    bf16_dense_flops: int | None
    fp8_dense_flops: int | None = None
    fp4_dense_flops: int | None = None
    #: FP16 tensor rate where it differs from bf16's (GPUs without BF16: Turing, Volta); None: the
    #: bf16 figure (the same rate from Ampere on).
    fp16_dense_flops: int | None = None
    interconnect: Link | None = None  # GPU-to-GPU, per direction per GPU
    host_link: Link | None = None  # GPU-to-host, per direction
    tdp_watts: int | None = None
    memory_source: str = "runtime"
    vendor: str = ""
    aliases: tuple[str, ...] = ()
    driver_names: tuple[str, ...] = ()
    engines: tuple[str, ...] = ()
    custom_memory: bool = False  # memory_bytes came from --gpu-mem, not the catalog
    compute_capability: tuple[int, int] | None = None  # NVIDIA only: (major, minor), e.g. (9, 0) for Hopper
    #: SMs (NVIDIA) / CUs (AMD): torch's multi_processor_count; None where no source gave it
    compute_units: int | None = None

    def with_memory(self, memory_bytes: int) -> GPU:
        """The same GPU with memory overridden (``--gpu-mem``)."""
        _check_memory(memory_bytes)
        return replace(self, memory_bytes=memory_bytes, custom_memory=True, memory_source="custom")


def _check_memory(memory_bytes) -> None:
    if isinstance(memory_bytes, bool) or not isinstance(memory_bytes, int) or memory_bytes <= 0:
        raise BadInputError(f"GPU memory must be a positive number of bytes, got {memory_bytes!r}")


class AmbiguousGPUError(UnknownNameError):
    """A name that covers several catalog products (``a100``: 40 or 80 GB, SXM or PCIe)."""

    def __init__(self, name: str, candidates: list[str]):
        super().__init__("GPU", name, candidates, suggestions=list(candidates))
        self.args = (f"ambiguous GPU {name!r}: it names {len(candidates)} products; "
                     f"did you mean {', '.join(candidates)}?",)


def _catalog_path() -> Path:
    return Path(__file__).with_name("data") / "gpus.yaml"


_SI = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}


def _flops(value, what: str) -> int | None:
    """``'989.4T'`` -> 989_400_000_000_000 (exact); None stays None."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtTpP]?)\s*", str(value))
    if not m:
        raise SpecError(f"gpus.yaml: {what}: cannot read FLOP/s {value!r}")
    return int(Fraction(m.group(1)) * _SI[m.group(2).lower()])


_VENDOR_WORDS = ("nvidia", "amd", "geforce", "instinct", "tesla", "intel", "google")


def normalize_gpu_name(name: str) -> str:
    """``'NVIDIA H100-SXM'`` -> ``'h100sxm'``: letters and digits in lower case, leading vendor words dropped."""
    key = re.sub(r"[^a-z0-9]", "", str(name).lower())
    stripped = True
    while stripped:
        stripped = False
        for word in _VENDOR_WORDS:
            if key.startswith(word):
                key, stripped = key[len(word):], True
    return key


def _bytes(value, what: str) -> int | None:
    from kvplan.units import parse_bytes

    if value is None:
        return None
    try:
        return parse_bytes(value, what)
    except BadInputError as err:
        raise SpecError(f"gpus.yaml: {err}") from None


def _link(value, what: str) -> Link | None:
    """A catalog link: {kind, bandwidth}, or for PCIe {kind, lanes} (the rate is derived,
    pcie_bytes_per_s; lanes null: not published)."""
    if value is None:
        return None
    pcie = isinstance(value, dict) and str(value.get("kind", "")).startswith("pcie")
    keys = {"kind", "lanes"} if pcie else {"kind", "bandwidth"}
    if not isinstance(value, dict) or set(value) != keys:
        raise SpecError(f"gpus.yaml: {what}: expected {{{', '.join(sorted(keys))}}}, got {value!r}")
    if value["kind"] not in LINK_KINDS:
        raise SpecError(f"gpus.yaml: {what}: unknown link kind {value['kind']!r}")
    if pcie:
        lanes = value["lanes"]
        try:
            rate = None if lanes is None else pcie_bytes_per_s(value["kind"], lanes)
        except SpecError as err:
            raise SpecError(f"gpus.yaml: {what}: {err}") from None
        return Link(kind=value["kind"], bytes_per_s=rate, lanes=lanes)
    return Link(kind=value["kind"], bytes_per_s=_bytes(value["bandwidth"], f"{what} bandwidth"))


def _entry(entry: dict) -> GPU:
    name = entry.get("name")
    unknown = set(entry) - _ENTRY_KEYS
    if not name or unknown:
        raise SpecError(f"gpus.yaml: entry {name!r}: missing name or unknown fields {sorted(unknown)}")
    source = entry.get("memory_source")
    if source not in MEMORY_SOURCES or source == "custom":
        raise SpecError(f"gpus.yaml: {name}: memory_source must be runtime, smi or datasheet, got {source!r}")
    engines = tuple(entry.get("engines") or ())
    if not set(engines) <= ENGINE_NAMES:
        raise SpecError(f"gpus.yaml: {name}: unknown engines {sorted(set(engines) - ENGINE_NAMES)}")
    cc = entry.get("compute_capability")
    if cc is not None and not (isinstance(cc, str) and re.fullmatch(r"\d+\.\d", cc)):
        raise SpecError(f"gpus.yaml: {name}: compute_capability must be a string like \"9.0\", got {cc!r}")
    if (cc is None) != (entry.get("vendor") != "nvidia"):
        raise SpecError(f"gpus.yaml: {name}: compute_capability is given for NVIDIA parts, and only for them")
    tdp = entry.get("tdp_watts")
    if tdp is not None and (isinstance(tdp, bool) or not isinstance(tdp, int) or tdp <= 0):
        raise SpecError(f"gpus.yaml: {name}: tdp_watts must be a positive integer, got {tdp!r}")
    units = entry.get("compute_units")
    if units is not None and (isinstance(units, bool) or not isinstance(units, int) or units <= 0):
        raise SpecError(f"gpus.yaml: {name}: compute_units must be a positive integer or null, got {units!r}")
    return GPU(
        name=name,
        display_name=entry.get("display_name") or name,
        memory_bytes=_bytes(entry["memory"], f"{name} memory"),
        hbm_bandwidth_bytes_per_s=_bytes(entry.get("hbm_bandwidth"), f"{name} hbm_bandwidth"),
        bf16_dense_flops=_flops(entry.get("bf16_dense_flops"), f"{name} bf16_dense_flops"),
        fp8_dense_flops=_flops(entry.get("fp8_dense_flops"), f"{name} fp8_dense_flops"),
        fp4_dense_flops=_flops(entry.get("fp4_dense_flops"), f"{name} fp4_dense_flops"),
        fp16_dense_flops=_flops(entry.get("fp16_dense_flops"), f"{name} fp16_dense_flops"),
        interconnect=_link(entry.get("interconnect"), f"{name} interconnect"),
        host_link=_link(entry.get("host_link"), f"{name} host_link"),
        tdp_watts=tdp,
        memory_source=source,
        vendor=entry.get("vendor") or "",
        aliases=tuple(str(a) for a in entry.get("aliases") or ()),
        driver_names=tuple(str(a) for a in entry.get("driver_names") or ()),
        engines=engines,
        compute_capability=tuple(int(x) for x in cc.split(".")) if cc else None,
        compute_units=units,
    )


def _labels(gpu: GPU) -> tuple[str, ...]:
    return (gpu.name, gpu.display_name, *gpu.aliases, *gpu.driver_names)


@lru_cache(maxsize=1)
def _load() -> tuple[tuple[GPU, ...], dict[str, str], dict[str, tuple[str, ...]]]:
    """(entries, normalized label -> entry name, normalized family name -> entry names)."""
    from kvplan.loader import read_yaml

    data = read_yaml(_catalog_path())
    gpus = tuple(_entry(e) for e in data["gpus"])
    index: dict[str, str] = {}
    for gpu in gpus:
        for label in _labels(gpu):
            key = normalize_gpu_name(label)
            if not key:
                raise SpecError(f"gpus.yaml: {gpu.name}: label {label!r} is empty once normalized")
            if index.setdefault(key, gpu.name) != gpu.name:
                raise SpecError(f"gpus.yaml: {label!r} names both {index[key]} and {gpu.name}")
    known = {g.name for g in gpus}
    families: dict[str, tuple[str, ...]] = {}
    for family, members in (data.get("families") or {}).items():
        key = normalize_gpu_name(family)
        if key in index or not set(members) <= known or len(members) < 2:
            raise SpecError(f"gpus.yaml: family {family!r} must list two or more catalog names and name no entry")
        families[key] = tuple(sorted(members))
    return gpus, index, families


def list_gpus() -> list[GPU]:
    """Every catalog GPU, in catalog order."""
    return list(_load()[0])


def get_gpu(name: str | GPU) -> GPU:
    """A catalog GPU by name, alias or the name its driver reports.

    Only an exact match after ``normalize_gpu_name`` counts. A family name that covers
    several products raises AmbiguousGPUError (an UnknownNameError) listing them; any
    other unknown name raises UnknownNameError with the closest catalog names."""
    if isinstance(name, GPU):
        return name
    text = str(name).strip()
    key = normalize_gpu_name(text)
    if not key:
        raise BadInputError(f"--gpu: empty name {text!r} (see `kvplan gpus`)")
    gpus, index, families = _load()
    if key in index:
        return next(g for g in gpus if g.name == index[key])
    if key in families:
        raise AmbiguousGPUError(text, list(families[key]))
    raise UnknownNameError("GPU", text, [g.name for g in gpus], "see `kvplan gpus`, or give --gpu-mem",
                           suggestions=_suggest(key, gpus, index))


def _suggest(key: str, gpus: tuple[GPU, ...], index: dict[str, str]) -> list[str]:
    """Catalog names worth offering for an unknown key: those it is a prefix of, then close names."""
    order = [g.name for g in gpus]
    hits = sorted({canonical for label, canonical in index.items() if label.startswith(key)}, key=order.index)
    if not hits:
        hits = close_names(key, order)
    return hits[:4]


def custom_gpu(memory_bytes: int, name: str = "custom") -> GPU:
    """A GPU known only by its memory (``--gpu-mem`` without ``--gpu``)."""
    _check_memory(memory_bytes)
    return GPU(name=name, display_name=f"GPU with {memory_bytes:,} B", memory_bytes=memory_bytes,
               hbm_bandwidth_bytes_per_s=None, bf16_dense_flops=None, memory_source="custom",
               custom_memory=True)


def gpu_dict(gpu: GPU) -> dict:
    """Plain data for --json."""
    return {
        "name": gpu.name,
        "display_name": gpu.display_name,
        "vendor": gpu.vendor,
        "memory_bytes": gpu.memory_bytes,
        "memory_source": gpu.memory_source,
        "hbm_bandwidth_bytes_per_s": gpu.hbm_bandwidth_bytes_per_s,
        "bf16_dense_flops": gpu.bf16_dense_flops,
        "fp8_dense_flops": gpu.fp8_dense_flops,
        "fp4_dense_flops": gpu.fp4_dense_flops,
        "fp16_dense_flops": gpu.fp16_dense_flops or gpu.bf16_dense_flops,
        "interconnect": gpu.interconnect.as_dict() if gpu.interconnect else None,
        "host_link": gpu.host_link.as_dict() if gpu.host_link else None,
        "tdp_watts": gpu.tdp_watts,
        "engines": list(gpu.engines),
        "compute_capability": ".".join(map(str, gpu.compute_capability)) if gpu.compute_capability else None,
        "compute_units": gpu.compute_units,
        "aliases": list(gpu.aliases),
        "driver_names": list(gpu.driver_names),
        "custom_memory": gpu.custom_memory,
    }
