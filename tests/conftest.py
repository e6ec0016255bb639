"""Test set-up shared by every test module.

Kernel tests run on a CUDA GPU when one is present and otherwise on the CPU under the
Triton interpreter. TRITON_INTERPRET must be set before triton decorates any kernel,
so it is decided here, before any test module imports kvplan.kernels; the check
avoids importing torch (planning tests must stay fast).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _has_cuda_device() -> bool:
    return Path("/dev/nvidia0").exists() or Path("/dev/nvidiactl").exists()


if "TRITON_INTERPRET" not in os.environ and not _has_cuda_device():
    os.environ["TRITON_INTERPRET"] = "1"

# Never let a developer's spec cache hide a schema problem in tests.
os.environ.setdefault("KVPLAN_NO_CACHE", "1")

# No test reaches the internet: the Hub is offline with an empty cache, unless a test points
# HF_ENDPOINT at the local fake Hub (tests/test_hub.py) and lifts HF_HUB_OFFLINE itself.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_CACHE"] = tempfile.mkdtemp(prefix="kvplan-test-hf-cache-")
for _key in ("HF_ENDPOINT", "HF_TOKEN", "HF_HOME"):
    os.environ.pop(_key, None)

# Tables are as wide as $COLUMNS says (kvplan.cli.common._width). A developer's exported
# COLUMNS, or pytest-xdist's workers (which run with COLUMNS=80), would fold the tables the
# tests read; tests that are about COLUMNS set it themselves.
for _key in ("COLUMNS", "LINES"):
    os.environ.pop(_key, None)
