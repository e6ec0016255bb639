"""Hub repo ids against a local fake Hub (tests/fakehub.py): config.json and safetensors
headers through huggingface_hub with HF_ENDPOINT pointed at 127.0.0.1; ranged reads only;
one-line errors for gated / missing repos and no network; built-in aliases never touch it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import huggingface_hub  # noqa: F401  (the test extra installs it: missing must fail, not skip)

from fakehub import FakeHub, Repo, start  # noqa: E402
from helpers import cli, one_line_error  # noqa: E402
from hf_checkpoints import TINY_CONFIG, safetensors_bytes, split, tiny_tensors  # noqa: E402
from kvplan.loader import load_model  # noqa: E402
from kvplan.weights import weights_footprint  # noqa: E402

TINY_BF16_BYTES = 213_632  # tests/test_hf_checkpoint.py: 106,816 parameters x 2 B


def _files(config: dict, shards: list[dict]) -> dict[str, bytes]:
    files = {"config.json": json.dumps(config).encode()}
    if len(shards) == 1:
        files["model.safetensors"] = safetensors_bytes(shards[0])
        return files
    weight_map = {}
    for i, shard in enumerate(shards, 1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        files[name] = safetensors_bytes(shard)
        weight_map.update(dict.fromkeys(shard, name))
    files["model.safetensors.index.json"] = json.dumps({"metadata": {}, "weight_map": weight_map}).encode()
    return files


@pytest.fixture
def hub(monkeypatch, tmp_path):
    four_layers = dict(TINY_CONFIG, num_hidden_layers=4)
    fake = FakeHub(repos={
        "tiny-org/tiny-llama": Repo({
            "main": _files(TINY_CONFIG, split(tiny_tensors(), 2)),
            "v2": _files(four_layers, [tiny_tensors(layers=4)]),
        }),
        "tiny-org/gated-llama": Repo({"main": _files(TINY_CONFIG, [tiny_tensors()])}, gated_token="hf_good"),
        "tiny-org/bin-only": Repo({"main": {"config.json": json.dumps(TINY_CONFIG).encode(),
                                            "pytorch_model.bin": b"\x00" * 16}}),
    })
    server = start(fake)
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield fake
    server.shutdown()


def test_size_of_a_hub_id(capsys, hub):
    code, out, err = cli(capsys, "size", "tiny-org/tiny-llama", "--ctx", "4k", "--kv-dtype", "bf16", "--json")
    assert code == 0, err
    # 2 layers x 2 KV heads x (16 + 16) x 2 B = 256 B per token
    assert json.loads(out)["formats"][0]["bytes_per_token"] == 256
    shard_reads = [(m, r) for m, p, r in hub.requests if p.endswith("of-00002.safetensors")]
    # headers only: ranged GETs of the first 100 kB, never a whole shard
    assert shard_reads and all(m == "GET" and r == "bytes=0-100000" for m, r in shard_reads)


def test_weights_come_from_the_hub_headers(hub):
    spec = load_model("tiny-org/tiny-llama")
    assert spec.checkpoint.source == "tiny-org/tiny-llama"
    assert weights_footprint(spec).total_bytes == TINY_BF16_BYTES
    assert spec.source == f"{hub.url}/tiny-org/tiny-llama/blob/main/config.json"


def test_revision_pins_a_branch(capsys, hub):
    # v2 has 4 layers: 4 x 2 x 32 x 2 = 512 B per token
    assert load_model("tiny-org/tiny-llama@v2").num_layers == 4
    assert load_model("tiny-org/tiny-llama", revision="v2").num_layers == 4
    code, out, _ = cli(capsys, "show", "tiny-org/tiny-llama", "--revision", "v2", "--json")
    assert code == 0 and json.loads(out)["spec"]["num_layers"] == 4
    code, _, err = cli(capsys, "size", "tiny-org/tiny-llama@nope")
    assert code == 2
    assert one_line_error(err) == "kvplan: error: tiny-org/tiny-llama@nope: has no revision 'nope'"


def test_size_and_capacity_take_revision(capsys, hub):
    # v2: 4 layers x 2 KV heads x (16 + 16) x 2 B = 512 B per token; its one shard holds
    # 106,816 + 2 x 36,992 = 180,800 bf16 parameters (tests/hf_checkpoints.py TINY_CONFIG)
    code, out, err = cli(capsys, "size", "tiny-org/tiny-llama", "--revision", "v2", "--ctx", "4k",
                         "--kv-dtype", "bf16", "--json")
    assert code == 0, err
    assert json.loads(out)["formats"][0]["bytes_per_token"] == 512
    code, out, err = cli(capsys, "capacity", "tiny-org/tiny-llama", "--revision", "v2", "--gpu-mem", "1GiB",
                         "--engine", "raw", "--json")
    assert code == 0, err
    assert json.loads(out)["weights_bytes"] == 2 * 180_800
    assert any(p.startswith("/tiny-org/tiny-llama/resolve/v2/") for _, p, _ in hub.requests)


def test_revision_of_a_local_path_or_builtin_is_refused(capsys, hub, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(TINY_CONFIG))
    for ref in (str(cfg), "llama3-8b"):
        code, out, err = cli(capsys, "size", ref, "--revision", "v2")
        assert code == 2 and out == ""
        assert one_line_error(err).startswith("kvplan: error: --revision v2: ")
    assert hub.requests == []


def test_import_a_hub_id(capsys, hub, tmp_path):
    out_file = tmp_path / "tiny.yaml"
    code, out, err = cli(capsys, "import", "tiny-org/tiny-llama", "--revision", "v2", "-o", str(out_file))
    assert code == 0, err
    spec = load_model(str(out_file))
    assert spec.num_layers == 4 and spec.source == f"{hub.url}/tiny-org/tiny-llama/blob/v2/config.json"
    code, out, err = cli(capsys, "import", "tiny-org/tiny-llama@v2")  # to stdout, revision in the id
    assert code == 0 and "num_layers: 4" in out


def test_import_of_a_missing_repo_is_one_line_and_writes_nothing(capsys, hub, tmp_path):
    out_file = tmp_path / "x.yaml"
    code, out, err = cli(capsys, "import", "tiny-org/no-such-model", "-o", str(out_file))
    assert code == 2 and out == "" and not out_file.exists()
    assert one_line_error(err).startswith("kvplan: error: tiny-org/no-such-model: is not a Hub repo")


def test_gated_repo_needs_the_token(capsys, hub, monkeypatch):
    code, out, err = cli(capsys, "size", "tiny-org/gated-llama")
    assert code == 2 and out == ""
    assert one_line_error(err).startswith("kvplan: error: tiny-org/gated-llama: is gated: accept its license")
    monkeypatch.setenv("HF_TOKEN", "hf_good")
    assert weights_footprint(load_model("tiny-org/gated-llama")).total_bytes == TINY_BF16_BYTES


def test_missing_repo_is_one_line(capsys, hub):
    code, out, err = cli(capsys, "size", "tiny-org/no-such-model")
    assert code == 2 and out == ""
    assert one_line_error(err).startswith("kvplan: error: tiny-org/no-such-model: is not a Hub repo "
                                          "(or is private: set HF_TOKEN)")


def test_repo_without_safetensors_counts_weights_from_the_architecture(hub):
    spec = load_model("tiny-org/bin-only")
    assert spec.checkpoint is None
    assert any("no model.safetensors or index" in a for a in spec.assumptions)
    assert weights_footprint(spec).total_bytes == TINY_BF16_BYTES  # the shapes give the same bytes


def test_offline_uses_the_cache_and_fails_in_one_line_without_it(capsys, hub, monkeypatch):
    load_model("tiny-org/tiny-llama")  # warms the cache (config.json, index)
    before = len(hub.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = load_model("tiny-org/tiny-llama")
    assert len(hub.requests) == before  # nothing asked of the Hub
    assert spec.num_layers == 2 and spec.checkpoint is None
    assert any("offline" in a for a in spec.assumptions)
    code, _, err = cli(capsys, "size", "tiny-org/gated-llama")
    assert code == 2
    assert one_line_error(err).startswith("kvplan: error: tiny-org/gated-llama: config.json is not in the Hub cache "
                                          "and the Hub cannot be reached (HF_HUB_OFFLINE is set)")


def test_no_network_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    code, out, err = cli(capsys, "size", "tiny-org/tiny-llama")
    assert code == 2 and out == ""
    assert one_line_error(err).startswith(
        "kvplan: error: tiny-org/tiny-llama: the Hub at http://127.0.0.1:9 cannot be reached")


def test_builtin_alias_never_asks_the_hub(hub):
    spec = load_model("meta-llama/Meta-Llama-3-8B")
    assert spec.name == "llama3-8b" and hub.requests == []


def test_huggingface_hub_is_imported_only_for_a_hub_id():
    code = ("import sys, kvplan.cli.main as m; m.run(['size', 'llama3-8b', '--json']); "
            "print('huggingface_hub' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "False"


def test_missing_extra_names_the_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    code, _, err = cli(capsys, "size", "tiny-org/tiny-llama")
    assert code == 2
    assert one_line_error(err).startswith("kvplan: error: reading a model from the Hugging Face Hub needs "
                                          "huggingface_hub; install it with: pip install 'kvplan[hub]'")
