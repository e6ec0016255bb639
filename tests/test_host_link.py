"""Host links and the second KV tier (h24-audit-spec M3, I5, D2): one PCIe rule for every
PCIe figure, sourced links for the GPUs that lacked one, a refusal where the catalog has
none, and the bandwidth named in fragment's text output."""

from __future__ import annotations

import json

import pytest
from helpers import cli, one_line_error

from kvplan.errors import SpecError
from kvplan.fragment.config import DEFAULT_HOST_BANDWIDTH, Tiers
from kvplan.gpus import _link, get_gpu, list_gpus, pcie_bytes_per_s

# 14 rows of a Mooncake trace: one prompt of 8 hash blocks (4,096 tokens), 12 prompts of new
# blocks that push it out of a small GPU pool, then the first prompt again: its 4,080 cacheable
# tokens (255 blocks of 16; the last token is recomputed) come back from the CPU tier.
TRACE = ([{"timestamp": 0, "input_length": 4096, "output_length": 8, "hash_ids": list(range(1, 9))}]
         + [{"timestamp": 1000 * (i + 1), "input_length": 4096, "output_length": 8,
             "hash_ids": list(range(100 + 8 * i, 108 + 8 * i))} for i in range(12)]
         + [{"timestamp": 13000, "input_length": 4096, "output_length": 8, "hash_ids": list(range(1, 9))}])


def test_pcie_rates_after_encoding():
    # GT/s x lanes x 128/130 / 8, rounded down: gen3 8, gen4 16, gen5 32 GT/s.
    assert pcie_bytes_per_s("pcie3", 16) == 8 * 10**9 * 16 * 128 // 1040 == 15_753_846_153
    assert pcie_bytes_per_s("pcie4", 16) == 31_507_692_307
    assert pcie_bytes_per_s("pcie5", 16) == 63_015_384_615
    assert pcie_bytes_per_s("pcie4", 8) == 15_753_846_153
    with pytest.raises(SpecError, match="pcie6"):
        pcie_bytes_per_s("pcie6", 16)
    with pytest.raises(SpecError, match="lanes"):
        pcie_bytes_per_s("pcie4", 12)


def test_one_pcie4_figure():
    # I5: the catalog gave PCIe 4.0 x16 as 32 GB/s and fragment's default was 31.5 GB/s.
    assert DEFAULT_HOST_BANDWIDTH == Tiers().host_bandwidth == get_gpu("l4").host_link.bytes_per_s == 31_507_692_307
    assert get_gpu("l4").interconnect.bytes_per_s == 31_507_692_307  # peers over the same PCIe 4.0 x16
    for g in list_gpus():
        for link in (g.interconnect, g.host_link):
            if link is not None and link.kind.startswith("pcie") and link.lanes:
                assert link.bytes_per_s == pcie_bytes_per_s(link.kind, link.lanes), g.name


def test_catalog_pcie_links_give_lanes_not_bandwidth():
    with pytest.raises(SpecError, match=r"expected \{kind, lanes\}"):
        _link({"kind": "pcie4", "bandwidth": "32GB"}, "x host_link")
    assert _link({"kind": "pcie5", "lanes": None}, "x host_link").bytes_per_s is None
    assert _link({"kind": "nvlink-c2c", "bandwidth": "450GB"}, "x host_link").bytes_per_s == 450_000_000_000


@pytest.mark.parametrize("gpu,kind,rate", [("v100-16gb", "pcie3", 15_753_846_153), ("v100-32gb", "pcie3", 15_753_846_153),
                                           ("mi300x", "pcie5", 63_015_384_615), ("mi325x", "pcie5", 63_015_384_615)])
def test_sourced_host_links(gpu, kind, rate):
    # M3: these had no host link and silently got PCIe 4.0 (twice too fast on a V100).
    link = get_gpu(gpu).host_link
    assert (link.kind, link.lanes, link.bytes_per_s) == (kind, 16, rate)


@pytest.fixture
def trace(tmp_path):
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in TRACE))
    return str(path)


def test_v100_tier_uses_pcie3(capsys, trace):
    code, out, err = cli(capsys, "fragment", "llama2-7b", "--gpu", "v100-32gb", "--workload", trace,
                         "--cpu-kv-gib", "64", "--policies", "paged-16-share", "--max-seqs", "1", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["tiers"]["host_bandwidth_bytes_per_s"] == 15_753_846_153
    assert d["tiers"]["host_bandwidth_source"] == "v100-32gb host link (pcie3 x16, 15.75 GB/s), kvplan/data/gpus.yaml"
    cache = d["policies"][0]["prefix_cache"]
    assert cache["tiers"]["cpu"]["hit_tokens"] == 4080
    # 4,080 tokens x 524,288 B (Llama-2-7B fp16) over 15,753,846,153 B/s = 0.135782 s
    # (it was 0.067891 s at the PCIe 4.0 fallback)
    assert cache["transfer_s"] == pytest.approx(4080 * 524_288 / 15_753_846_153, abs=1e-6)
    assert round(cache["transfer_s"], 6) == 0.135782


@pytest.mark.parametrize("gpu,what", [("a10g", "no host_link"), ("rtx3090", "no host_link"), ("mi250x", "no host_link"),
                                      ("tpu-v6e", "a pcie5 host_link without a lane count")])
def test_a_gpu_without_a_host_link_is_refused(capsys, trace, gpu, what):
    engine = ["--engine", "raw"] if gpu.startswith("tpu") else []  # vLLM on a TPU is not modelled
    # a stated step time: the speed model has no factors for AMD / TPU (it would warn and fall back)
    code, out, err = cli(capsys, "fragment", "llama3.2-1b", "--gpu", gpu, "--workload", trace, "--cpu-kv-gib", "8",
                         "--policies", "paged-16-share", "--step-ms", "25", *engine)
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert f"the GPU catalog gives {gpu} {what}" in line and "--host-bandwidth" in line


def test_host_bandwidth_overrides_a_missing_link(capsys, trace):
    code, out, err = cli(capsys, "fragment", "llama3.2-1b", "--gpu", "a10g", "--workload", trace, "--cpu-kv-gib", "8",
                         "--policies", "paged-16-share", "--host-bandwidth", "31.5GB", "--json")
    assert code == 0, err
    assert json.loads(out)["tiers"]["host_bandwidth_bytes_per_s"] == 31_500_000_000


def test_text_output_names_the_bandwidth(capsys, trace):
    code, out, err = cli(capsys, "fragment", "llama2-7b", "--gpu", "v100-32gb", "--workload", trace,
                         "--cpu-kv-gib", "64", "--policies", "paged-16-share", "--max-seqs", "1")
    assert code == 0, err
    text = " ".join(out.split())
    assert "Transfer: CPU blocks over the host link at 15.75 GB/s per direction (v100-32gb host link" in text
    assert "kvplan's assumptions, not an engine's" in text
