"""Where paged_kv_write and its torch reference disagree on a GPU, and which one is right.

    python -P benchmarks/write_diagnosis.py   # kvplan importable as in gpu_session.sh

For fp8 (per-tensor and per-head scales) and int8, 8192 tokens x 8 heads x 128: mismatched
bytes, and each side against IEEE quotients computed in float64 and rounded once to fp32;
for fp8, a sample of mismatching values. Writes $OUT/diag_write.json. The H200 run before
and after the fixes: docs/measurements/h200-write-diagnosis.json."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpu_session as gs  # noqa: E402  (sets TRITON_INTERPRET for a dry run before triton loads)
import torch  # noqa: E402
from kvplan.formats import get_format  # noqa: E402
from kvplan.kernels.cache import allocate  # noqa: E402
from kvplan.kernels import quant as Q  # noqa: E402
from kvplan.kernels.write import paged_kv_write, paged_kv_write_ref  # noqa: E402
from kvplan.layers import FullAttention  # noqa: E402
from kvplan.layout import layer_layout  # noqa: E402

DEV = gs.DEV
T, H, D = (64, 2, 32) if DEV == "cpu" else (8192, 8, 128)
out = {}
gen = torch.Generator().manual_seed(7)
x = (torch.randn(T, H, D, generator=gen) * 1.5).to(torch.bfloat16)
slots = torch.arange(T, dtype=torch.int64)


def b32(t):
    return [hex(v) for v in t.float().view(torch.int32).tolist()]


for name, mode in (("fp8_e4m3", "tensor"), ("fp8_e4m3", "head"), ("int8", None)):
    label = f"{name}/{mode}"
    layout = layer_layout(FullAttention(kv_heads=H, head_dim=D, v_head_dim=D), get_format(name), T // 16, 16)
    cache, cref = allocate(layout, DEV), allocate(layout, DEV)
    kw = gs.fp8_scales(mode, H, gen)
    xd = x.to(DEV)
    paged_kv_write(xd, xd, slot_mapping=slots.to(DEV), **cache, **kw)
    paged_kv_write_ref(xd, xd, slot_mapping=slots.to(DEV), **cref, **kw)
    if DEV == "cuda":
        torch.cuda.synchronize()
    kc = cache["k_cache"].view(T, H, D).cpu()
    rc = cref["k_cache"].view(T, H, D).cpu()
    xf = x.float()
    rec = {"mismatch_k": int((kc.view(torch.uint8) != rc.view(torch.uint8)).sum())}
    if name == "fp8_e4m3":
        s = Q.fp8_scale_values(kw["k_scale"], H, "cpu")[None, :, None].expand(T, H, D)
        y_cuda = (xf.to(DEV) / s.to(DEV)).cpu()
        y_f64 = (xf.double() / s.double()).float()
        y_cpu = xf / s
        rec["y_cuda_ne_f64"] = int((y_cuda != y_f64).sum())
        rec["y_cpu_ne_f64"] = int((y_cpu != y_f64).sum())
        cpu_code = y_f64.clamp(-448, 448).to(torch.float8_e4m3fn)
        cuda_conv = y_f64.to(DEV).clamp(-448, 448).to(torch.float8_e4m3fn).cpu()
        rec["kernel_ne_cpuconv_of_f64"] = int((kc.view(torch.uint8) != cpu_code.view(torch.uint8)).sum())
        rec["cudaconv_ne_cpuconv_of_f64"] = int((cuda_conv.view(torch.uint8) != cpu_code.view(torch.uint8)).sum())
        idx = (kc.view(torch.uint8) != rc.view(torch.uint8)).nonzero()[:12]
        rec["samples"] = [{"x": float(xf[tuple(i)]), "s": float(s[tuple(i)]),
                           "y_cuda": b32(y_cuda[tuple(i)].reshape(1))[0],
                           "y_f64": b32(y_f64[tuple(i)].reshape(1))[0], "y_f64_val": float(y_f64[tuple(i)]),
                           "kernel": int(kc.view(torch.uint8)[tuple(i)]), "ref": int(rc.view(torch.uint8)[tuple(i)]),
                           "cpu_of_f64": int(cpu_code.view(torch.uint8)[tuple(i)]),
                           "cuda_of_f64": int(cuda_conv.view(torch.uint8)[tuple(i)])} for i in idx.tolist()]
    else:
        ks = cache["k_cache_scale"].reshape(T, H).cpu()
        rs = cref["k_cache_scale"].reshape(T, H).cpu()
        amax = xf.abs().amax(-1)
        s_f64 = (amax.double() / 127).float()
        rec["kernel_scale_ne_f64"] = int((ks != s_f64).sum())
        rec["ref_scale_ne_f64"] = int((rs != s_f64).sum())
        rec["ref_scale_eq_recip"] = int((rs == amax * torch.tensor(1 / 127, dtype=torch.float32)).sum())
        rec["n"] = T * H
    out[label] = rec
    print(label, json.dumps(rec)[:3000], flush=True)
with open(os.path.join(os.environ.get("OUT", "/tmp"), "diag_write.json"), "w") as fh:
    json.dump(out, fh, indent=1)
