"""Stacked bar per policy: token states, reserved, internal, external (share of KV memory)."""

from __future__ import annotations

from kvplan.errors import NeedsExtraError
from kvplan.outputs import atomic_write, check_writable

#: (legend label, PolicyResult attribute, colour), stacked left to right.
SEGMENTS = (
    ("token states", "token_state_share", "#4c956c"),
    ("reserved", "reserved_share", "#f2b134"),
    ("internal frag.", "internal_share", "#d1495b"),
    ("external frag. & others", "external_share", "#9aa0a6"),
)


def plot_fragmentation(report, path) -> None:
    """Write one stacked horizontal bar per policy in ``report``, as PNG, SVG or PDF by the
    path's suffix (anything else is refused: a PNG must not be written under a .pdf name)."""
    from kvplan.plots import mpl_text, plot_type

    kind = plot_type(path)
    check_writable(path, "--plot")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is in the test environment
        raise NeedsExtraError("matplotlib", "plot", "--plot") from None

    results = report.results
    names = [r.policy for r in results]
    fig, ax = plt.subplots(figsize=(8.0, 0.55 * len(results) + 1.8))
    left = [0.0] * len(results)
    for label, attr, color in SEGMENTS:
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
        mpl_text(f"{report.model}: {wl['name']} x {wl['requests']:,} requests, pool {report.pool_tokens:,} tokens"
                 + (f", {report.allocator} allocator" if report.allocator != "first-fit" else "")),
        fontsize=10,
    )
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))

    def _write(tmp: str) -> None:
        fig.savefig(tmp, format=kind, dpi=120)

    try:
        atomic_write(path, _write, "--plot")
    finally:
        plt.close(fig)
