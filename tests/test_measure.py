"""`kvplan measure` and `kvplan report`: the whole pipeline under the Triton interpreter
(CPU, tiny sizes), its report contract, and its failure modes."""

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from kvplan.cli.main import run
from helpers import cli, one_line_error



def interpret(test):
    """Marks a test that runs `kvplan measure --interpret` in this process. Where the tests run on
    a CUDA GPU (tests/conftest.py leaves TRITON_INTERPRET unset there), this process loads the
    kernels for the GPU and measure.prepare refuses --interpret; there they run as
    `TRITON_INTERPRET=1 pytest -m interpret tests/test_measure.py`."""
    skip = pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") != "1",
                              reason="in-process --interpret needs TRITON_INTERPRET=1 from the start")
    return pytest.mark.interpret(skip(test))


REQUIRED = ("kv_dtype", "cache_bytes_predicted", "cache_bytes_measured", "decode_ms_median",
            "decode_ms_predicted", "achieved_gbps", "copy_gbps", "read_gbps", "pct_of_read_roof", "tensor_bytes")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def llama_fp8_report():
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = run(["measure", "llama3-8b", "--interpret", "--kv-dtype", "fp8", "--json"])
    assert code == 0
    return json.loads(out.getvalue())


@interpret
def test_interpret_pipeline_llama3_fp8(llama_fp8_report):
    report = llama_fp8_report
    assert report["model"] == "llama3-8b" and report["device"]["interpret"] is True
    cfg = report["config"]
    assert (cfg["ctx"], cfg["batch"], cfg["layers_measured"], cfg["num_layers"]) == (40, 2, 2, 32)
    (f,) = report["formats"]
    for key in REQUIRED:
        assert f[key] is not None, key
    assert f["status"] == "ok" and f["kv_dtype"] == "fp8_e4m3"
    # 2 layers x 2 sequences x cdiv(40, 16) = 3 pages x 16 tokens x 8 kv heads x (128 + 128) x 1 B
    assert f["cache_bytes_predicted"] == 2 * 2 * 3 * 16 * 8 * 256 == 393_216
    assert f["cache_bytes_measured"] == f["cache_bytes_predicted"] and f["cache_bytes_diff"] == 0
    assert f["tensor_bytes"] == f["cache_bytes_predicted"] and f["tensor_bytes_diff"] == 0
    assert f["allocation"].startswith("one pool tensor")
    # decode reads the 40 held tokens of each sequence and layer: 2 x 2 x 40 x 2,048 B
    assert f["bytes_read_per_step"] == 2 * 2 * 40 * 2048
    # the roof is the READ bandwidth (decode reads; the copy bandwidth counts reads + writes)
    assert f["decode_ms_predicted"] == pytest.approx(f["bytes_read_per_step"] / (f["read_gbps"] * 1e9) * 1e3)
    assert report["read_bandwidth"]["gbps"] == f["read_gbps"]
    assert report["schema_version"] == 2
    assert f["decode_ms_min"] <= f["decode_ms_median"] <= f["decode_ms_max"]
    # whole-model figures scale by bytes: 32 layers / 2 measured
    assert f["whole_model_cache_bytes_predicted"] == 16 * f["cache_bytes_predicted"]


@interpret
def test_interpret_mla_and_speedup(tmp_path, capsys):
    path = tmp_path / "ds.json"
    code, out, err = cli(capsys, "measure", "deepseek-v2-lite", "--interpret", "--kv-dtype", "bf16,fp8",
                          "--out", str(path))
    assert code == 0, err
    report = json.loads(path.read_text())
    by = {f["kv_dtype"]: f for f in report["formats"]}
    # MLA: one latent of 512 + 64 values per token: 2 layers x 2 seqs x 3 pages x 16 x 576 x 2 B
    assert by["bf16"]["cache_bytes_predicted"] == 2 * 2 * 3 * 16 * 576 * 2 == 221_184
    assert by["fp8_e4m3"]["cache_bytes_measured"] == 221_184 // 2
    assert by["bf16"]["speedup_vs_bf16"] == pytest.approx(1.0)
    assert "speedup_vs_bf16" in by["fp8_e4m3"]
    assert "deepseek-v2-lite" in out  # the table went to stdout
    # kvplan report renders the saved run, and plots it
    png = tmp_path / "ds.png"
    code, out, _ = cli(capsys, "report", str(path), "--plot", str(png))
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "fp8_e4m3" in out
    code, out, _ = cli(capsys, "report", str(path), "--json")
    assert code == 0 and json.loads(out) == report


@interpret
def test_interpret_sliding_window_model(capsys):
    # Gemma 2: layer 0 slides (window 4096), layer 1 is global; at 40 tokens both hold 40
    code, out, err = cli(capsys, "measure", "gemma2-9b", "--interpret", "--kv-dtype", "int8", "--layers", "2",
                          "--json")
    assert code == 0, err
    (f,) = json.loads(out)["formats"]
    # int8: (256 + 4) B per head vector, K and V, 8 kv heads: 4,160 B per token per layer
    assert f["cache_bytes_predicted"] == 2 * 2 * 3 * 16 * 8 * 2 * 260
    assert f["status"] == "ok" and f["cache_bytes_measured"] == f["cache_bytes_predicted"]


@interpret
def test_out_of_memory_is_reported_not_raised(monkeypatch, capsys):
    import torch

    import kvplan.kernels as kernels
    from kvplan.formats import get_format
    from kvplan.loader import load_model
    from kvplan.measure import MeasureConfig, run_measure

    def fake_allocate_pool(layouts, device):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(kernels, "allocate_pool", fake_allocate_pool)
    cfg = MeasureConfig(ctx=16, batch=1, formats=(get_format("bf16"),), interpret=True, repeat=1)
    report = run_measure(load_model("llama3-8b"), cfg)
    (f,) = report["formats"]
    assert f["status"] == "out of memory" and "out of memory" in f["error"]
    assert "decode_ms_median" not in f


@interpret
@pytest.mark.parametrize(
    "args, needle",
    [
        (["measure", "llama3-8b"], "needs a CUDA GPU"),
        (["measure", "llama3-8b", "--interpret", "--kv-dtype", "nvfp4"], "the kernels implement"),
        (["measure", "llama3-8b", "--interpret", "--layers", "0"], "--layers"),
        (["measure", "llama3-8b", "--interpret", "--layers", "many"], "--layers"),
        (["measure", "llama3-8b", "--interpret", "--layers", "33"], "--layers"),
        (["measure", "llama3-8b", "--interpret", "--probe-capacity"], "--probe-capacity"),
        (["measure", "llama3-8b", "--interpret", "--ctx", "0"], "--ctx"),
        (["measure", "llama3-8b", "--interpret", "--seed", "-1"], "--seed"),
        (["measure", "llama3-9b", "--interpret"], "did you mean"),
        (["measure", "deepseek-v2-lite", "--interpret", "--kv-dtype", "int4"], "MLA decode reads"),
    ],
)
def test_bad_input(capsys, args, needle, monkeypatch):
    if args == ["measure", "llama3-8b"]:
        if pytest.importorskip("torch").cuda.is_available():
            pytest.skip("this machine has a CUDA GPU")
        monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    code, out, err = cli(capsys, *args)
    assert code == 2
    assert needle in one_line_error(err)


@interpret
def test_unwritable_out_leaves_nothing(tmp_path, capsys):
    target = tmp_path / "missing" / "r.json"
    code, _, err = cli(capsys, "measure", "llama3-8b", "--interpret", "--out", str(target))
    assert code == 2 and "does not exist" in one_line_error(err)
    assert not target.parent.exists()


def test_report_rejects_other_json(tmp_path, capsys):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"model": "x"}))
    code, _, err = cli(capsys, "report", str(path))
    assert code == 2 and "not a kvplan measure report" in one_line_error(err)
    path.write_text("{")
    code, _, err = cli(capsys, "report", str(path))
    assert code == 2 and "malformed JSON" in one_line_error(err)


@interpret
def test_hybrid_state_space_model_measures_its_attention_layers(capsys):
    # Jamba-1.5-mini: attention every 8th layer (offset 4), Mamba elsewhere. The interpreter run
    # picks the first two attention layers (4 and 12); the Mamba state is not paged and not
    # predicted: 2 layers x 2 sequences x 3 pages x 16 x 8 kv heads x 256 x 2 B.
    path = "tests/fixtures/hf_configs/jamba-1.5-mini.json"
    code, out, err = cli(capsys, "measure", path, "--interpret", "--kv-dtype", "bf16", "--json")
    assert code == 0, err
    report = json.loads(out)
    (f,) = report["formats"]
    assert report["config"]["layers_measured"] == 2
    assert f["cache_bytes_predicted"] == f["cache_bytes_measured"] == 2 * 2 * 3 * 16 * 8 * 256 * 2
    # the whole model has 4 attention layers: twice the measured ones
    assert f["whole_model_cache_bytes_predicted"] == 2 * f["cache_bytes_predicted"]


@interpret
def test_interpret_refused_after_the_gpu_kernels_loaded(monkeypatch, capsys):
    """A process that already decorated the kernels for the GPU cannot switch to the
    interpreter: measure says so in one line instead of failing every format."""
    from types import SimpleNamespace

    monkeypatch.setitem(sys.modules, "kvplan.kernels.decode", SimpleNamespace(_decode_kernel=object()))
    code, out, err = cli(capsys, "measure", "llama3-8b", "--interpret", "--kv-dtype", "bf16")
    assert code == 2 and out == ""
    assert "already loaded kvplan's kernels for the GPU" in one_line_error(err)


@pytest.mark.parametrize("module, attr", [("kvplan.kernels.decode", "_decode_kernel"),
                                          ("kvplan.kernels._jit", "dot")])
def test_interpret_refusal_leaves_the_environment(monkeypatch, module, attr):
    """The refusal comes before TRITON_INTERPRET is set (a later GPU measure in the same process
    is not then refused for it), and a process that loaded only the write kernels (every kernel
    module imports kvplan.kernels._jit) is refused too. Imports neither torch nor triton."""
    from types import SimpleNamespace

    from kvplan.errors import BadInputError
    from kvplan.formats import get_format
    from kvplan.measure import MeasureConfig, prepare

    for name in ("kvplan.kernels.decode", "kvplan.kernels._jit"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, module, SimpleNamespace(**{attr: object()}))
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    cfg = MeasureConfig(ctx=16, batch=1, formats=(get_format("bf16"),), interpret=True, repeat=1)
    with pytest.raises(BadInputError, match="already loaded kvplan's kernels for the GPU"):
        prepare(cfg)
    assert "TRITON_INTERPRET" not in os.environ


@interpret
def test_failed_kernel_exits_1(monkeypatch, capsys):
    import kvplan.kernels as kernels

    def broken(*args, **kwargs):
        raise RuntimeError("illegal memory access")

    monkeypatch.setattr(kernels, "paged_decode_attention", broken)
    code, out, err = cli(capsys, "measure", "llama3-8b", "--interpret", "--kv-dtype", "bf16", "--json")
    assert code == 1
    assert json.loads(out)["formats"][0]["status"] == "error"
    assert "illegal memory access" in err


@interpret
@pytest.mark.parametrize(
    "patch, needle",
    [
        (lambda r: r.pop("device"), "device: required field is missing"),
        (lambda r: r["formats"][0].update(cache_bytes_predicted="lots"), "formats.0.cache_bytes_predicted"),
        (lambda r: r["formats"][0].pop("decode_ms_median"), "formats.0.decode_ms_median"),
        (lambda r: r["config"].update(ctx=True), "config.ctx"),
        (lambda r: r.update(probe_capacity={"status": "ok", "kv_dtype": "bf16"}), "probe_capacity.measured_tokens"),
    ],
)
def test_report_validates_before_rendering(tmp_path, capsys, llama_fp8_report, patch, needle):
    import copy

    report = copy.deepcopy(llama_fp8_report)
    patch(report)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    for extra in ([], ["--plot", str(tmp_path / "r.png")]):
        code, out, err = cli(capsys, "report", str(path), *extra)
        assert code == 2 and out == "" and needle in one_line_error(err)
    assert not (tmp_path / "r.png").exists()


# -- measuring without pydantic (the GPU image has none) ---------------------------------------
def _gpu_specs_module():
    spec = importlib.util.spec_from_file_location("gpu_specs", REPO / "benchmarks" / "gpu_specs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_validated_snapshot_equals_todays_validation():
    """benchmarks/gpu_specs.json is what validating today's YAML gives (else: regenerate it)."""
    gpu_specs = _gpu_specs_module()
    assert json.loads(gpu_specs.PATH.read_text()) == gpu_specs.snapshot(), \
        "benchmarks/gpu_specs.json is stale: run python benchmarks/gpu_specs.py"


@pytest.fixture
def no_pydantic(monkeypatch):
    """pydantic unimportable, kvplan.schema not yet imported, no cached specs."""
    import kvplan.loader

    monkeypatch.setitem(sys.modules, "pydantic", None)
    monkeypatch.delitem(sys.modules, "kvplan.schema", raising=False)
    monkeypatch.setenv("KVPLAN_NO_CACHE", "1")
    monkeypatch.delenv("KVPLAN_VALIDATED_SPECS", raising=False)
    kvplan.loader.load_builtin.cache_clear()
    yield monkeypatch
    kvplan.loader.load_builtin.cache_clear()


def test_planning_without_pydantic_says_so_in_one_line(no_pydantic, capsys):
    # the GPU image has no pydantic: a planning command names the missing dependency (exit 2),
    # not an internal error (exit 3)
    code, out, err = cli(capsys, "size", "llama3-8b", "--ctx", "4k")
    assert code == 2 and out == ""
    assert one_line_error(err) == ("kvplan: error: kvplan needs pydantic, one of its dependencies, and this Python "
                                   "has none; install it with: pip install pydantic (or reinstall kvplan)")


def test_load_spec_without_pydantic_uses_the_snapshot(no_pydantic):
    from kvplan.errors import BadInputError
    from kvplan.measure import load_spec

    with pytest.raises(BadInputError, match="pydantic is not installed.*KVPLAN_VALIDATED_SPECS"):
        load_spec("llama3-8b")
    no_pydantic.setenv("KVPLAN_VALIDATED_SPECS", str(REPO / "benchmarks" / "gpu_specs.json"))
    spec = load_spec("Meta-Llama-3-8B")  # aliases resolve without pydantic
    assert spec.name == "llama3-8b" and "validated snapshot" in spec.origin
    with pytest.raises(BadInputError, match="not in the validated snapshot"):
        load_spec("qwen3-8b")


def test_load_spec_refuses_a_stale_snapshot(no_pydantic, tmp_path):
    from kvplan.errors import BadInputError
    from kvplan.measure import load_spec

    data = json.loads((REPO / "benchmarks" / "gpu_specs.json").read_text())
    data["specs"]["llama3-8b"]["yaml_sha256"] = "0" * 64
    path = tmp_path / "stale.json"
    path.write_text(json.dumps(data))
    no_pydantic.setenv("KVPLAN_VALIDATED_SPECS", str(path))
    with pytest.raises(BadInputError, match="older than llama3-8b.yaml; regenerate"):
        load_spec("llama3-8b")


def test_snapshot_spec_equals_the_validated_spec(monkeypatch):
    from kvplan.loader import load_model
    from kvplan.measure import _snapshot_spec

    monkeypatch.setenv("KVPLAN_VALIDATED_SPECS", str(REPO / "benchmarks" / "gpu_specs.json"))
    for name in ("llama3-8b", "deepseek-v2-lite"):
        a, b = _snapshot_spec(name), load_model(name)
        assert a.layers == b.layers and a.num_layers == b.num_layers and a.mla == b.mla and a.moe == b.moe


def test_report_reads_schema_1(tmp_path, capsys):
    """Reports written before the read-only roof and the tensor/allocator split still render."""
    ok = {"kv_dtype": "bf16", "status": "ok", "cache_bytes_predicted": 1024, "cache_bytes_measured": 1536,
          "cache_bytes_diff": 512, "memory_source": "torch", "decode_ms_median": 1.0, "decode_ms_min": 1.0,
          "decode_ms_max": 1.0, "decode_ms_iqr": 0.0, "achieved_gbps": 2680.0}
    report = {"schema_version": 1, "model": "llama3-8b", "device": {"name": "NVIDIA H100", "interpret": False},
              "config": {"ctx": 4096, "batch": 8, "block_size": 16, "layers_measured": 32, "num_layers": 32},
              "copy_bandwidth": {"gbps": 3000.0}, "formats": [ok]}
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(report))
    code, out, err = cli(capsys, "report", str(path))
    assert code == 0, err
    assert "copy 3000.0 GB/s" in out and "read bandwidth" not in out
    report["schema_version"] = 3
    path.write_text(json.dumps(report))
    code, _, err = cli(capsys, "report", str(path))
    assert code == 2 and "schema_version 3, this kvplan reads 1, 2" in one_line_error(err)
