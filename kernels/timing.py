"""Timing GPU work: CUDA-event medians over rotated inputs, and device copy bandwidth.

Used by benchmarks/kernels.py (and by anything that measures the kernels on a GPU). On a
CPU (the Triton interpreter) the same functions fall back to wall-clock time, so the
benchmark's code path can be exercised anywhere; those numbers mean nothing about GPUs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import torch


def summarize(samples_s: list[float]) -> dict:
    """Median, min, max and interquartile range (seconds) of timing samples."""
    ordered = sorted(samples_s)
    n = len(ordered)
    return {
        "median_s": statistics.median(ordered),
        "min_s": ordered[0],
        "max_s": ordered[-1],
        "iqr_s": ordered[(3 * n) // 4] - ordered[n // 4],
        "n": n,
    }


def time_rotated(
    fn: Callable[[object], object],
    inputs: Sequence[object],
    *,
    repeat: int = 20,
    warmup: int = 3,
    device: torch.device | str = "cuda",
) -> dict:
    """Time ``fn(inputs[i % len(inputs)])`` for i in range(repeat), each call on its own.

    On CUDA each call is bracketed by a pair of CUDA events on the current stream and the
    samples are read after one synchronize; rotating over several input sets keeps a call
    from finding the previous call's data in L2. ``warmup`` calls (compilation, autotune,
    allocator) are not timed. Returns summarize() of the samples, in seconds.
    """
    if not inputs:
        raise ValueError("time_rotated needs at least one input set")
    device = torch.device(device)
    for i in range(warmup):
        fn(inputs[i % len(inputs)])
    if device.type != "cuda":
        samples = []
        for i in range(repeat):
            t0 = time.perf_counter()
            fn(inputs[i % len(inputs)])
            samples.append(time.perf_counter() - t0)
        return summarize(samples)
    torch.cuda.synchronize(device)
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(repeat)]
    for i, (start, end) in enumerate(events):
        start.record()
        fn(inputs[i % len(inputs)])
        end.record()
    torch.cuda.synchronize(device)
    return summarize([start.elapsed_time(end) / 1e3 for start, end in events])


def copy_bandwidth(nbytes: int, *, device: torch.device | str = "cuda", repeat: int = 20) -> dict:
    """Device-to-device copy bandwidth: ``dst.copy_(src)`` of ``nbytes``, two buffer pairs
    rotated. Returns {"bytes_per_s": ..., "copy_bytes": nbytes, "timing": ...} where
    bytes_per_s counts bytes read plus bytes written (2 * nbytes per copy), the same
    convention as the kernels' "bytes moved"."""
    device = torch.device(device)
    pairs = [
        (torch.empty(nbytes, dtype=torch.uint8, device=device), torch.empty(nbytes, dtype=torch.uint8, device=device))
        for _ in range(2)
    ]
    for src, _ in pairs:
        src.fill_(1)
    timing = time_rotated(lambda p: p[1].copy_(p[0]), pairs, repeat=repeat, warmup=3, device=device)
    del pairs
    return {"bytes_per_s": 2 * nbytes / timing["median_s"], "copy_bytes": nbytes, "timing": timing}


def time_graph(
    fn: Callable[[object], object],
    inputs: Sequence[object],
    *,
    calls_per_replay: int = 10,
    replays: int = 7,
    warmup: int = 3,
    device: torch.device | str = "cuda",
) -> dict:
    """Time ``fn`` per call with the host out of the measurement.

    On CUDA: ``calls_per_replay`` calls (rotating over ``inputs``) are captured in one CUDA
    graph after ``warmup`` eager calls on a side stream (compilation, autotuning and
    occupancy queries happen there, not in the capture); each sample is one replay
    between a pair of CUDA events, divided by ``calls_per_replay``. When capture fails (an
    operation that cannot be captured), each sample is ``calls_per_replay`` eager calls
    between one event pair instead; ``method`` says which. Off CUDA: wall-clock time per
    call (time_rotated), which says nothing about a GPU. Returns summarize() of the
    per-call samples plus ``method`` and ``calls_per_sample``.
    """
    if not inputs:
        raise ValueError("time_graph needs at least one input set")
    device = torch.device(device)
    if device.type != "cuda":
        return time_rotated(fn, inputs, repeat=replays, warmup=warmup, device=device) | {
            "method": "wall clock per call", "calls_per_sample": 1}
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for i in range(warmup):
            fn(inputs[i % len(inputs)])
    torch.cuda.current_stream(device).wait_stream(side)
    torch.cuda.synchronize(device)
    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.graph(graph):
            for i in range(calls_per_replay):
                fn(inputs[i % len(inputs)])
        graph.replay()
        torch.cuda.synchronize(device)
        method = "cuda graph replay"

        def sample() -> None:
            graph.replay()
    except Exception:  # noqa: BLE001 - not capturable: many eager calls per event pair
        graph = None
        torch.cuda.synchronize(device)
        method = "eager calls per event pair"

        def sample() -> None:
            for i in range(calls_per_replay):
                fn(inputs[i % len(inputs)])
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(replays)]
    for start, end in events:
        start.record()
        sample()
        end.record()
    torch.cuda.synchronize(device)
    samples = [start.elapsed_time(end) / 1e3 / calls_per_replay for start, end in events]
    del graph
    return summarize(samples) | {"method": method, "calls_per_sample": calls_per_replay}


def read_bandwidth(nbytes: int, *, device: torch.device | str = "cuda", repeat: int = 7) -> dict:
    """Read-only bandwidth: a sum over ``nbytes`` of fp32 (the reduction writes one
    number), two buffers rotated, timed with time_graph. The roof for kernels that
    mostly read, as decode attention does (the copy bandwidth counts reads and writes,
    which share the bus differently). Returns {"bytes_per_s", "read_bytes", "timing"}."""
    device = torch.device(device)
    bufs = [torch.rand(nbytes // 4, dtype=torch.float32, device=device) for _ in range(2)]  # never zeros
    timing = time_graph(lambda x: x.sum(), bufs, calls_per_replay=4, replays=repeat, warmup=2, device=device)
    del bufs
    read = (nbytes // 4) * 4
    return {"bytes_per_s": read / timing["median_s"], "read_bytes": read, "timing": timing}
