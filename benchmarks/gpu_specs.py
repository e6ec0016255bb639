"""Write benchmarks/gpu_specs.json: the validated form of the built-in specs the GPU session
measures, for machines without pydantic (the GPU image has none).

    python benchmarks/gpu_specs.py            # regenerate after a spec YAML or the schema changes
    python benchmarks/gpu_specs.py --check    # exit 1 if the snapshot differs from today's validation

`kvplan measure` reads it when pydantic is missing and $KVPLAN_VALIDATED_SPECS names it
(kvplan.measure.load_spec); each entry carries the sha256 of the YAML it was made from, and a
stale entry is refused. tests/test_measure_specs.py runs the --check comparison.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PATH = Path(__file__).resolve().parent / "gpu_specs.json"
#: The models benchmarks/gpu_session.sh measures.
MODELS = ("llama3-8b", "deepseek-v2-lite")


def snapshot() -> dict:
    from kvplan.loader import read_yaml, resolve_builtin
    from kvplan.measure import yaml_sha256
    from kvplan.schema import validate_spec

    import kvplan.model_specs

    folder = Path(kvplan.model_specs.__file__).parent
    specs = {}
    for name in MODELS:
        name = resolve_builtin(name)
        specs[name] = {"yaml_sha256": yaml_sha256(name),
                       "validated": validate_spec(read_yaml(folder / f"{name}.yaml"), f"{name}.yaml")}
    return {"about": "validated built-in specs for kvplan measure without pydantic; "
                     "regenerate with python benchmarks/gpu_specs.py", "specs": specs}


def main(argv: list[str]) -> int:
    data = snapshot()
    if "--check" in argv:
        current = json.loads(PATH.read_text()) if PATH.exists() else None
        if current != data:
            print(f"{PATH.name} is stale: run python benchmarks/gpu_specs.py", file=sys.stderr)
            return 1
        return 0
    PATH.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
