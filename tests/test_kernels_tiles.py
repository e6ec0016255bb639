"""default_block_n: the decode tile the kernels pick per GPU, format and head size.

128-token tiles came from a sweep on an H200 (docs/measurements/h200-session.md); a plain
bf16/fp16 cache then needs 139,264 B of shared memory per program, more than sm_86, sm_89
and sm_120 GPUs give one (99 KiB), so those take 64 for plain caches. The device properties
are faked: no GPU is needed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

from kvplan.kernels import decode  # noqa: E402
from kvplan.kernels import quant as Q  # noqa: E402

CUDA = torch.device("cuda")


def _gpu(monkeypatch, major, minor, optin=None):
    props = SimpleNamespace(major=major, minor=minor)
    if optin is not None:
        props.shared_memory_per_block_optin = optin
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: props)


@pytest.mark.parametrize("major,minor,optin,plain,quantized", [
    (9, 0, 232_448, 128, 128),  # H100 / H200
    (10, 0, None, 128, 128),  # B200, from the capability table
    (8, 0, 166_912, 128, 128),  # A100: 163 KiB
    (8, 6, 101_376, 64, 128),  # A10 / A10G: 99 KiB
    (8, 9, None, 64, 128),  # L4 / RTX 4090
    (12, 0, None, 64, 128),  # RTX 5090
])
def test_tile_fits_the_gpus_shared_memory(monkeypatch, major, minor, optin, plain, quantized):
    _gpu(monkeypatch, major, minor, optin)
    assert decode.default_block_n(CUDA, 128, Q.PLAIN) == plain
    for code in (Q.FP8, Q.INT8, Q.INT4):
        assert decode.default_block_n(CUDA, 128, code) == quantized
    assert decode.default_block_n(CUDA, 256, Q.FP8) == 32  # wide heads: not measured, unchanged
    assert decode.default_block_n(CUDA, 128) == plain  # no format: the plain cache's need


def test_every_choice_fits(monkeypatch):
    """The 64-token fallback fits wherever the kernels run (sm_80 and up: >= 99 KiB)."""
    _gpu(monkeypatch, 8, 9)
    assert max(decode.WIDE_TILE_SHARED_BYTES.values()) > decode.block_shared_bytes(CUDA)
    assert 71_680 <= decode.block_shared_bytes(CUDA)  # the most any format takes at 64 tokens


def test_interpreter_tiles():
    assert decode.default_block_n(torch.device("cpu"), 128, Q.PLAIN) == 16
