"""Plots of `kvplan fragment` results (matplotlib's object API on the Agg canvas, no pyplot).

    plot_fragmentation   one stacked bar per policy: where KV memory went
    plot_rate_sweep      batch, TTFT and latency against the arrival rate, one line per policy
"""

from __future__ import annotations

from kvplan.outputs import atomic_write, check_writable

#: (legend label, PolicyResult attribute, colour), stacked left to right.
SEGMENTS = (
    ("token states", "token_state_share", "#4c956c"),
    ("reserved", "reserved_share", "#f2b134"),
    ("internal frag.", "internal_share", "#d1495b"),
    ("padding", "padding_share", "#8e5572"),
    ("external frag. & others", "external_share", "#9aa0a6"),
    ("seat cap (free)", "seat_cap_share", "#c8d5e6"),
    ("token budget (free)", "budget_cap_share", "#e6dcc8"),
)


def _figure(width: float, height: float):
    from kvplan.plots import _matplotlib

    Figure, Canvas = _matplotlib()
    fig = Figure(figsize=(width, height))
    Canvas(fig)
    return fig


def _save(fig, path) -> None:
    """Write ``fig`` as the type the path's suffix says (.png, .svg, .pdf; any other refused):
    a PNG must not be written under a .pdf name."""
    from kvplan.plots import plot_type

    kind = plot_type(path)

    def _write(tmp: str) -> None:
        fig.savefig(tmp, format=kind, dpi=120)

    atomic_write(path, _write, "--plot")


def _text(text: str) -> str:
    """A title with a trace's or a model's name: '$' is text, not TeX (kvplan.plots.mpl_text)."""
    from kvplan.plots import mpl_text

    return mpl_text(text)


def plot_fragmentation(report, path) -> None:
    """Draw one stacked horizontal bar per policy in ``report`` (PNG, SVG or PDF by the suffix)."""
    check_writable(path, "--plot")
    results = report.results
    segments = [seg for seg in SEGMENTS if any(getattr(r, seg[1]) > 0 for r in results) or seg[1] in (
        "token_state_share", "reserved_share", "internal_share", "external_share")]
    fig = _figure(8.0, 0.55 * len(results) + 1.9)
    ax = fig.add_subplot()
    names = [r.policy for r in results]
    left = [0.0] * len(results)
    for label, attr, color in segments:
        vals = [100.0 * getattr(r, attr) for r in results]
        bars = ax.barh(names, vals, left=left, color=color, label=label, edgecolor="white", linewidth=0.5)
        for bar, v, x0 in zip(bars, vals, left):
            if v >= 6.0:
                ax.text(x0 + v / 2, bar.get_y() + bar.get_height() / 2, f"{v:.1f}%", ha="center", va="center",
                        fontsize=8, color="black")
        left = [a + b for a, b in zip(left, vals)]
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of KV memory, time-averaged (%)")
    wl = report.workload.summary()
    ax.set_title(
        _text(f"{report.model}: {wl['name']} x {wl['requests']:,} requests, pool {report.pool_tokens:,} tokens"
              + (f", {report.allocator} allocator" if report.allocator != "first-fit" else "")),
        fontsize=10,
    )
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    _save(fig, path)


def plot_rate_sweep(report, path) -> None:
    """Three panels against the arrival rate: mean batch, TTFT (p50 solid, p99 dashed) and
    latency (p50 solid, p99 dashed), one colour per policy."""
    check_writable(path, "--plot")
    rates = [getattr(run.arrivals, "rate_per_s", None) for run in report.runs]
    if any(r is None for r in rates):
        from kvplan.errors import BadInputError

        raise BadInputError("--plot of a rate sweep needs Poisson rates only (e.g. --rate 1/s,2/s,4/s)")
    fig = _figure(12.0, 3.6)
    axes = [fig.add_subplot(1, 3, i + 1) for i in range(3)]
    names = [r.policy for r in report.runs[0].results]
    for i, name in enumerate(names):
        color = f"C{i % 10}"
        res = [run.results[i] for run in report.runs]
        axes[0].plot(rates, [r.mean_batch for r in res], "o-", color=color, label=name)
        axes[1].plot(rates, [r.timing.ttft_s[1] for r in res], "o-", color=color)
        axes[1].plot(rates, [r.timing.ttft_s[2] for r in res], "o--", color=color)
        axes[2].plot(rates, [r.timing.latency_s[1] for r in res], "o-", color=color)
        axes[2].plot(rates, [r.timing.latency_s[2] for r in res], "o--", color=color)
    for ax, label in zip(axes, ("mean running batch", "TTFT (s): p50 solid, p99 dashed",
                                "latency (s): p50 solid, p99 dashed")):
        ax.set_xlabel("request rate (requests/s, Poisson)")
        ax.set_ylabel(label, fontsize=9)
        ax.grid(alpha=0.3)
    axes[1].set_yscale("log")
    axes[2].set_yscale("log")
    wl = report.workload.summary()
    fig.suptitle(_text(f"{report.model}: {wl['name']} x {wl['requests']:,} requests, pool {report.pool_tokens:,} "
                       f"tokens; {report.serving.step_time.describe()}"), fontsize=9)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(names), 7), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 0.93))
    _save(fig, path)


def plot_cache_capacity(rows, unbounded_rate: float, trace_name: str, path) -> None:
    """Hit rate against cache capacity (log scale), with the unbounded cache's rate as a line."""
    check_writable(path, "--plot")
    fig = _figure(6.4, 4.0)
    ax = fig.add_subplot()
    caps = [r["capacity_tokens"] for r in rows]
    ax.plot(caps, [100 * r["hit_rate"] for r in rows], "o-", color="C0", label="kvplan, paged-16-share (vLLM V1 free queue)")
    ax.axhline(100 * unbounded_rate, color="C1", linestyle="--", label=f"unbounded cache ({100 * unbounded_rate:.1f}%)")
    ax.set_xscale("log")
    ax.set_xlabel("cache capacity (tokens)")
    ax.set_ylabel("prefix cache hit rate (% of prompt tokens)")
    ax.set_ylim(0, max(50.0, 100 * unbounded_rate + 5))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(_text(f"{trace_name}: requests in order, one at a time"), fontsize=10)
    fig.tight_layout()
    _save(fig, path)
