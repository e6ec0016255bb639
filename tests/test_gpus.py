"""The GPU catalog: names that never cross products, driver-reported memory, cited figures."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvplan.cli.main import run
from kvplan.errors import BadInputError, UnknownNameError
from kvplan.gpus import (
    MEMORY_SOURCES,
    _catalog_path,
    custom_gpu,
    get_gpu,
    gpu_dict,
    list_gpus,
    normalize_gpu_name,
)

GIB = 1 << 30
MIB = 1 << 20

#: Issue 12's list, one catalog name per product people rent and buy.
REQUIRED = [
    "h20", "h800", "h100-pcie", "h100-sxm", "h100-nvl", "h200", "h200-nvl", "gh200-96gb", "gh200-144gb",
    "b200", "b300", "gb200", "a100-40gb", "a100-40gb-pcie", "a100-80gb", "a100-80gb-pcie", "a10g", "a10",
    "l4", "l40", "l40s", "t4", "v100-16gb", "v100-32gb", "rtx3090", "rtx4090", "rtx5090", "rtx6000-ada",
    "rtx-pro-6000-server", "rtx-pro-6000-workstation", "mi250x", "mi300x", "mi325x", "mi355x", "gaudi3",
    "tpu-v5e", "tpu-v6e",
]


def labels(gpu) -> list[str]:
    """Every string the catalog says names this GPU."""
    return [gpu.name, gpu.display_name, *gpu.aliases, *gpu.driver_names]


# --------------------------------------------------------------------------- names: issue 12, item 2


def test_h20_is_the_h20_never_an_h200():
    # Before this fix a unique-prefix match sent "h20" to the H200 (141 GB planned for a 96 GB card).
    for name in ("h20", "H20", "NVIDIA H20"):
        gpu = get_gpu(name)
        assert gpu.name == "h20"
        assert gpu.memory_bytes == 97285 * MIB  # torch total_memory=97285MB
    assert get_gpu("h20").memory_bytes < get_gpu("h200").memory_bytes


def test_l40_is_the_l40_never_the_l40s():
    assert get_gpu("l40").name == "l40"
    assert get_gpu("NVIDIA L40").name == "l40"
    assert get_gpu("l40s").name == "l40s"


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("b2", "b200"), ("h1", "h100-sxm"), ("mi30", "mi300x"), ("rtx409", "rtx4090"), ("gaudi", "gaudi3"),
     ("tpu-v6", "tpu-v6e")],
)
def test_a_prefix_is_refused_with_did_you_mean(name, suggestion):
    with pytest.raises(UnknownNameError, match="did you mean") as err:
        get_gpu(name)
    assert suggestion in err.value.suggestions


@pytest.mark.parametrize(
    ("name", "products"),
    [
        ("a100", {"a100-40gb", "a100-40gb-pcie", "a100-80gb", "a100-80gb-pcie"}),
        ("A100-80GB-anything", None),  # not a family name either: plain unknown
        ("v100", {"v100-16gb", "v100-32gb"}),
        ("gh200", {"gh200-96gb", "gh200-144gb"}),
        ("h100-80gb", {"h100-sxm", "h100-pcie"}),
        ("h200-141gb", {"h200", "h200-nvl"}),
        ("RTX PRO 6000", {"rtx-pro-6000-server", "rtx-pro-6000-workstation"}),
        ("mi300", {"mi300x", "mi325x"}),
    ],
)
def test_a_name_that_covers_several_products_is_refused(name, products):
    with pytest.raises(UnknownNameError) as err:
        get_gpu(name)
    if products is not None:
        assert set(err.value.suggestions) == products
        assert str(err.value).startswith(f"ambiguous GPU {name!r}")


def test_every_catalog_label_resolves_to_its_own_entry():
    """For every pair of distinct entries, no name/alias/driver name of one resolves to the other."""
    for gpu in list_gpus():
        for label in labels(gpu):
            assert get_gpu(label).name == gpu.name, (label, gpu.name)


def test_no_two_entries_share_a_normalized_label():
    owner: dict[str, str] = {}
    for gpu in list_gpus():
        for key in {normalize_gpu_name(label) for label in labels(gpu)}:
            assert owner.setdefault(key, gpu.name) == gpu.name, (key, owner[key], gpu.name)


_LABELS = [(label, gpu.name) for gpu in list_gpus() for label in labels(gpu)]


def _restyle(label: str, upper: list[bool], sep: str, prefix: str) -> str:
    chars = [c.upper() if up else c.lower() for c, up in zip(label, upper + [False] * len(label))]
    return prefix + re.sub(r"[\s_-]+", sep, "".join(chars))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_LABELS),
    st.lists(st.booleans(), max_size=40),
    st.sampled_from(["-", " ", "_", "", "  "]),
    st.sampled_from(["", "NVIDIA ", "nvidia-", "AMD ", "amd_", "GeForce ", "Instinct "]),
)
def test_case_spacing_and_vendor_prefix_never_change_the_product(label_owner, upper, sep, prefix):
    label, owner = label_owner
    assert get_gpu(_restyle(label, upper, sep, prefix)).name == owner


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abghilmnprstvx0123456789- ", min_size=1, max_size=12))
def test_a_name_resolves_only_by_an_exact_normalized_match(text):
    keys = {normalize_gpu_name(label): owner for label, owner in _LABELS}
    key = normalize_gpu_name(text)
    if key in keys:
        assert get_gpu(text).name == keys[key]
    elif key:
        with pytest.raises(UnknownNameError):
            get_gpu(text)


def test_driver_names_resolve():
    for driver, name in [
        ("NVIDIA H100 80GB HBM3", "h100-sxm"), ("NVIDIA H100 PCIe", "h100-pcie"), ("NVIDIA H100 NVL", "h100-nvl"),
        ("NVIDIA H200", "h200"), ("NVIDIA H200 NVL", "h200-nvl"), ("NVIDIA GH200 480GB", "gh200-96gb"),
        ("NVIDIA GH200 144G HBM3e", "gh200-144gb"), ("NVIDIA B300 SXM6 AC", "b300"), ("NVIDIA GB200", "gb200"),
        ("NVIDIA A100-SXM4-40GB", "a100-40gb"), ("NVIDIA A100-PCIE-40GB", "a100-40gb-pcie"),
        ("NVIDIA A100-SXM4-80GB", "a100-80gb"), ("NVIDIA A100 80GB PCIe", "a100-80gb-pcie"),
        ("Tesla T4", "t4"), ("Tesla V100-SXM2-16GB", "v100-16gb"), ("Tesla V100-SXM2-32GB", "v100-32gb"),
        ("NVIDIA GeForce RTX 4090", "rtx4090"), ("NVIDIA RTX 6000 Ada Generation", "rtx6000-ada"),
        ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "rtx-pro-6000-server"),
        ("AMD Instinct MI300X", "mi300x"), ("AMD Instinct MI250X", "mi250x"), ("HL-325L", "gaudi3"),
        ("TPU v5 lite", "tpu-v5e"), ("TPU v6 lite", "tpu-v6e"),
    ]:
        assert get_gpu(driver).name == name, driver


def test_driver_names_of_products_not_in_the_catalog_are_refused():
    # MI250X/MI250 is what ROCm reports for both MI250 parts; the V100 PCIe and the
    # H100 "NVIDIA H100" SKU are not catalogued. None may silently become a neighbour.
    for driver in ("AMD Instinct MI250X/MI250", "Tesla V100-PCIE-32GB", "NVIDIA H20 HBM3e", "NVIDIA H800 PCIe"):
        with pytest.raises(UnknownNameError):
            get_gpu(driver)


def test_empty_name_is_bad_input():
    for name in ("", "   ", "NVIDIA "):
        with pytest.raises(BadInputError):
            get_gpu(name)


# --------------------------------------------------------------------------- catalog figures


def test_catalog_covers_issue_12():
    names = [g.name for g in list_gpus()]
    assert set(REQUIRED) <= set(names)
    assert len(names) == len(set(names))


def test_every_entry_is_well_formed():
    for g in list_gpus():
        assert g.memory_bytes > 0 and g.memory_source in MEMORY_SOURCES, g.name
        for value in (g.hbm_bandwidth_bytes_per_s, g.bf16_dense_flops, g.fp8_dense_flops, g.fp4_dense_flops,
                      g.tdp_watts):
            assert value is None or (isinstance(value, int) and value > 0), g.name
        for link in (g.interconnect, g.host_link):
            assert link is None or link.bytes_per_s is None or link.bytes_per_s > 0, g.name
        assert set(g.engines) <= {"vllm", "sglang", "trtllm"}, g.name
        # Low precision is never slower than BF16 where both are published.
        if g.bf16_dense_flops and g.fp8_dense_flops:
            assert g.fp8_dense_flops >= g.bf16_dense_flops, g.name
        if g.fp8_dense_flops and g.fp4_dense_flops:
            assert g.fp4_dense_flops >= g.fp8_dense_flops, g.name


_FIELD = re.compile(r"^\s+(memory|hbm_bandwidth|bf16_dense_flops|fp8_dense_flops|fp4_dense_flops|interconnect|"
                    r"host_link|tdp_watts):")


def test_every_figure_in_the_yaml_cites_a_source_or_says_why_it_is_null():
    text = _catalog_path().read_text(encoding="utf-8")
    bare = [line for line in text.splitlines() if _FIELD.match(line) and "#" not in line]
    assert bare == []


def test_exact_driver_figures():
    # torch total_memory=81090MB (MiB) -> 81090 * 2**20 = 85,029,027,840 B = 79.19 GiB
    h100 = get_gpu("h100")
    assert h100.memory_bytes == 81090 * MIB == 85_029_027_840 and round(h100.memory_bytes / GIB, 2) == 79.19
    assert h100.memory_source == "runtime"
    assert h100.hbm_bandwidth_bytes_per_s == 3_350_000_000_000
    assert h100.bf16_dense_flops == 989_400_000_000_000
    assert h100.fp8_dense_flops == 1_978_900_000_000_000
    assert h100.interconnect.kind == "nvlink4" and h100.interconnect.bytes_per_s == 450_000_000_000
    # PCIe 5.0 x16 after 128b/130b encoding: 32e9 x 16 x 128 / 130 / 8, rounded down (kvplan.gpus.pcie_bytes_per_s)
    assert h100.host_link.kind == "pcie5" and h100.host_link.bytes_per_s == 63_015_384_615
    # 79.25 GiB = 85,094,039,552 B exactly (vLLM log on an A100 80GB SXM)
    assert get_gpu("a100-80gb").memory_bytes == 85_094_039_552
    # deviceQuery: "Total amount of global memory: 32494 MBytes (34072559616 bytes)"
    assert get_gpu("v100-32gb").memory_bytes == 34_072_559_616
    # Ampere has no FP8 tensor cores; Blackwell has FP4.
    assert get_gpu("a100-80gb").fp8_dense_flops is None
    assert get_gpu("b200").fp4_dense_flops == 9_000_000_000_000_000
    # GB200 reaches its host over NVLink-C2C, not PCIe.
    assert get_gpu("gb200").host_link.kind == "nvlink-c2c"


def test_memory_override_and_custom_gpu():
    g = get_gpu("l4").with_memory(24 * GIB)
    assert g.memory_bytes == 24 * GIB and g.custom_memory and g.name == "l4"
    assert gpu_dict(g)["memory_source"] == "custom"
    c = custom_gpu(10**9)
    assert c.memory_bytes == 10**9 and c.hbm_bandwidth_bytes_per_s is None and c.memory_source == "custom"
    for bad in (0, -1, True):
        with pytest.raises(BadInputError):
            custom_gpu(bad)
        with pytest.raises(BadInputError):
            get_gpu("l4").with_memory(bad)


# --------------------------------------------------------------------------- the command


def test_cli_gpus_json_lists_every_field(capsys):
    assert run(["gpus", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [g.name for g in list_gpus()]
    h20 = next(r for r in rows if r["name"] == "h20")
    assert h20["memory_bytes"] == 97285 * MIB and h20["memory_source"] == "runtime"
    assert h20["interconnect"] == {"kind": "nvlink4", "bytes_per_s": 450_000_000_000}
    assert set(h20) >= {"fp8_dense_flops", "fp4_dense_flops", "host_link", "tdp_watts", "engines", "driver_names"}


def test_cli_gpus_table(capsys):
    assert run(["gpus"]) == 0
    out = capsys.readouterr().out
    for word in ("h20", "gaudi3", "tpu-v6e", "FP8", "GPU link", "datasheet"):
        assert word in out


def test_cli_unknown_gpu_one_line_exit_2(capsys):
    assert run(["capacity", "llama3.1-8b", "--gpu", "h300"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kvplan: error: unknown GPU 'h300'; did you mean ")


def test_cli_ambiguous_gpu_one_line_exit_2(capsys):
    assert run(["capacity", "llama3.1-8b", "--gpu", "a100"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["kvplan: error: ambiguous GPU 'a100': it names 4 products; did you mean "
                   "a100-40gb, a100-40gb-pcie, a100-80gb, a100-80gb-pcie?"]
