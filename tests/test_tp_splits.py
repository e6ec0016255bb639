"""Dense tensor-parallel splits the engines cannot start are refused, not rounded up.

vLLM (v0.8.0..v0.33.0) and SGLang 0.5.8 split the dense MLP with MergedColumnParallelLinear /
RowParallelLinear and the vocabulary with VocabParallelEmbedding, all through
``divide(n, tp)``, which asserts ``n % tp == 0`` (vllm/distributed/utils.py
ensure_divisibility). Only the vocabulary is padded first, to a multiple of 64
(DEFAULT_VOCAB_PADDING_SIZE). kvplan used to round 18,944 / 28 up to 677 rows a rank and
say "fits" for Qwen2.5-7B at tp 28.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvplan.cli.main import run
from kvplan.errors import BadInputError, ShapeError
from kvplan.engines import get_engine
from kvplan.footprint import Parallelism, check_parallelism
from kvplan.loader import builtin_names, load_builtin
from kvplan.shapes import COLUMN, ROW, VOCAB, VOCAB_PADDING, layer_shapes, model_shapes

VLLM_ENGINE = get_engine("vllm")
MLP_RULE = ("vLLM and SGLang do not start it (vllm/model_executor/layers/linear.py MergedColumnParallelLinear / "
            "RowParallelLinear: divide(intermediate_size, tp))")
VOCAB_RULE = ("vLLM and SGLang do not start it (vllm/model_executor/layers/vocab_parallel_embedding.py "
              "VocabParallelEmbedding: divide(num_embeddings_padded, tp))")


def _cli(capsys, args):
    code = run(args)
    out = capsys.readouterr()
    return code, out.out, out.err.strip()


@pytest.mark.parametrize(
    "args, message",
    [
        # the finding: 18,944 = 28 x 676 + 16 (heads 28/28 and KV heads 4 | 28 pass)
        (["capacity", "qwen2.5-7b", "--gpu", "h100", "--tp", "28"],
         f"tp=28 does not divide qwen2.5-7b's MLP intermediate_size 18,944 (18,944 = 28 x 676 + 16): {MLP_RULE}; "
         "use a tp that divides 18,944"),
        # 40 heads / 40 pass; 13,824 = 40 x 345 + 24
        (["size", "llama2-13b", "--tp", "40", "--ctx", "4k", "--gpu", "h100"],
         f"tp=40 does not divide llama2-13b's MLP intermediate_size 13,824 (13,824 = 40 x 345 + 24): {MLP_RULE}; "
         "use a tp that divides 13,824"),
        # OPT-13B: 40 heads / 5 and the MLP 20,480 / 5 pass; the vocabulary 50,272 pads to 50,304
        # (786 x 64), and 50,304 / 5 is not whole
        (["capacity", "opt-13b", "--gpu", "h100", "--tp", "5"],
         f"tp=5 does not divide opt-13b's vocabulary 50,272 padded to 50,304 (a multiple of 64): {VOCAB_RULE}; "
         "use a tp that divides 50,304"),
    ],
)
def test_uneven_dense_split_is_refused(capsys, args, message):
    code, out, err = _cli(capsys, args)
    assert (code, out, err) == (2, "", f"kvplan: error: {message}")


@pytest.mark.parametrize("name, tp", [("qwen2.5-7b", 4), ("qwen2.5-7b", 2), ("llama2-13b", 8), ("opt-13b", 8),
                                      ("llama3.1-70b", 8)])
def test_even_splits_still_plan(capsys, name, tp):
    code, out, err = _cli(capsys, ["capacity", name, "--gpu", "h100", "--tp", str(tp)])
    assert code in (0, 1) and "verdict:" in out, err


def test_recommend_rejects_the_layout_as_a_shape_reason():
    """recommend's layout search meets tp 5 for llama2-13b (n = 40 GPUs): a rejected family
    reason, not a crash."""
    from kvplan.formats import get_format
    from kvplan.gpus import get_gpu
    from kvplan.recommend import _Family, _try
    from kvplan.speed import default_efficiency, estimate, setup

    spec, gpu = load_builtin("llama2-13b"), get_gpu("h100")
    fams = {}
    for tp in (5, 8):
        fam = fams[tp] = _Family()
        _try(spec, gpu, "fp16", get_format("fp16"), tp, 1, 1, False, "vllm", {"max_model_len": 4096},
             default_efficiency(gpu), 2048, 8, None, None, None, 1.0, fam, setup, estimate)
    assert fams[5].shape.startswith("tp=5 does not divide llama2-13b's MLP intermediate_size 13,824") and not fams[5].passed
    assert fams[8].shape == "" and fams[8].passed


def _dense_models():
    out = []
    for name in builtin_names():
        spec = load_builtin(name)
        if spec.moe is None and spec.vocab_size and spec.intermediate_size:
            out.append(spec)
    return out


DENSE = _dense_models()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(DENSE), st.integers(1, 64))
def test_accepted_tp_divides_every_dense_split(spec, tp):
    """For any built-in dense model and tp 1..64, kvplan either refuses, or every dimension the
    engines split with divide() divides: the query heads, the KV heads (or tp is a multiple of
    them: replicated), every dense MLP width, and the vocabulary padded to 64; and the per-rank
    rows and columns kvplan counts for those tensors are exact shares (nothing rounded up)."""
    try:
        check_parallelism(spec, Parallelism(tp, 1))
        VLLM_ENGINE.check_tp_splits(spec, tp)
    except (ShapeError, BadInputError):
        return
    kinds = {*spec.layers}
    if any(k.has_attention for k in kinds):
        assert spec.num_attention_heads % tp == 0
    widths = {spec.ffn_kind(i).intermediate_size or spec.intermediate_size for i in range(spec.num_layers)
              if spec.ffn_kind(i).kind == "mlp"}
    assert all(w % tp == 0 for w in widths)
    padded = -(-spec.vocab_size // VOCAB_PADDING) * VOCAB_PADDING
    assert padded % tp == 0
    for p in model_shapes(spec):
        if p.split == VOCAB:
            assert p.rank_rows(tp) * tp == padded
    for i in range(spec.num_layers):
        for p in layer_shapes(spec, i):
            if p.part == "mlp" and p.split == COLUMN:
                assert p.rank_rows(tp) * tp == p.rows, p
            if p.part == "mlp" and p.split == ROW and p.is_matrix:
                assert p.rank_cols(tp) * tp == p.cols, p


def test_the_property_sees_refusals_and_acceptances():
    """The property above is not vacuous: among the built-in dense models at tp 1..64 some
    layouts are accepted and some are refused by the new MLP / vocabulary rule alone."""
    accepted = refused_by_split = 0
    for spec in DENSE:
        for tp in range(1, 65):
            try:
                check_parallelism(spec, Parallelism(tp, 1))
                VLLM_ENGINE.check_tp_splits(spec, tp)
                accepted += 1
            except ShapeError as err:
                refused_by_split += "vLLM and SGLang do not start it" in str(err)
            except BadInputError:
                pass
    assert accepted > 100 and refused_by_split >= 5


def test_the_split_rules_are_the_engines_not_kv_sizing(capsys):
    """Without an engine (KV sizing) an uneven dense split is not the question; TensorRT-LLM pads
    the vocabulary to a multiple of tp (its Embedding/LMHead) but asserts the MLP like vLLM."""
    code, out, err = _cli(capsys, ["size", "llama2-13b", "--tp", "40", "--ctx", "4k"])
    assert code == 0 and not err
    code, out, err = _cli(capsys, ["capacity", "opt-13b", "--gpu", "h100", "--tp", "5", "--engine", "trtllm"])
    assert code == 0, err
    code, out, err = _cli(capsys, ["capacity", "qwen2.5-7b", "--gpu", "h100", "--tp", "28", "--engine", "trtllm"])
    assert code == 2 and "vLLM, SGLang and TensorRT-LLM (its Linear) do not start it" in err
