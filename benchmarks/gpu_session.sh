#!/usr/bin/env bash
# Everything kvplan needs from a GPU, in ONE command that finishes within 9 minutes on a fresh
# H100/H200 (Triton JIT included) and always returns what it got:
#
#     bash benchmarks/gpu_session.sh                        # from the repo root; files go to $OUT
#     GPU_SESSION_DRYRUN=1 bash benchmarks/gpu_session.sh   # the same end to end on a CPU (Triton
#                                                           # interpreter, tiny shapes), ~3 min
#
# Needs only python3 with torch + triton (+ numpy, pyyaml, typer, rich): kvplan is imported from
# this checkout (no pip install); without pydantic, built-in specs come from the validated
# snapshot benchmarks/gpu_specs.json ($KVPLAN_VALIDATED_SPECS, see kvplan.measure.load_spec).
# Phases, each under its own `timeout` and inside an overall 540 s deadline:
#   env      versions, device facts, nvidia-smi                                          <= 30 s
#   check    7 processes in parallel (their JIT compiles overlap; triton's disk cache then
#            serves the later phases): write bit-exact and decode within 1e-2 of the torch
#            references for bf16, fp16, fp8 (per-tensor and per-head scales), int8, int4
#            and MLA, with the bench's shapes and compile-time constants            <= 120 s
#   bench    read-only and copy bandwidth; decode GB/s and % of the read roof for bf16,
#            fp8, int8, int4 at 16 x 8k and 16 x 32k (CUDA-graph replay), speedups over
#            bf16; MLA decode 16 x 8k (bf16, fp8, int8); prefill write GB/s          <= 140 s
#   alloc    pool allocations: tensor bytes vs planner, memory_allocated vs the caching
#            allocator's model, and per-layer allocations for contrast                <= 45 s
#   measure  kvplan measure llama3-8b --ctx 8k --batch 16 --kv-dtype bf16,fp8,int8      <= 110 s
#   step     Llama-3.1-8B decode steps: the 129 bf16 weight matrices alone at batch 1..128, and
#            the whole decoder (unfused torch around kvplan's kernels) at 1..32 users          <= 90 s
#   summary  summary.json + summary.md from whatever the phases left                  <= 20 s
# Then, on a GPU (or with GPU_SESSION_EXTRA=1), three more phases, each only if time is left:
#   ncu      Nsight Compute's counters for one decode launch per format (GQA bf16, fp8, int8,
#            int4 at 16 x 32k; MLA bf16, fp8 at 16 x 8k): ncu.txt                      <= 120 s
#   cli      kvplan's CLI with pydantic (carried as wheels in .whl/ where the machine lacks it;
#            GPU_SESSION_INSTALL=1 also pip-installs the checkout, as on the throwaway device
#            machine): kvplan measure on four models, the capacity probe against the raw
#            planner, kvplan report and kvplan speed --calibration on the fresh report:
#            cli.json (each command, its exit status against the expected one, output) <= 170 s
#   pytest   the kernel and measure test files on the GPU (pytest -n 8), then measure's
#            interpreter tests under TRITON_INTERPRET=1: pytest.txt                  <= 100 s
# Files in $OUT (at most 7 of the 8 the device tool returns): log.txt, summary.md, summary.json,
# measure.json (+ ncu.txt, cli.json, pytest.txt). Commit them under docs/measurements/ named
# after the device.
set -uo pipefail
T0=$(date +%s)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$REPO/gpu_session_out}
DRY=${GPU_SESSION_DRYRUN:-0}
# The dry run's interpreter on a shared CPU is slow: its limits are scaled (GPU_SESSION_TIME_SCALE).
SCALE=${GPU_SESSION_TIME_SCALE:-$([ "$DRY" = 1 ] && echo 4 || echo 1)}
DEADLINE=$(( ${GPU_SESSION_DEADLINE_S:-540} * SCALE ))
EXTRA=${GPU_SESSION_EXTRA:-$([ "$DRY" = 1 ] && echo 0 || echo 1)}
PY=${PY:-python3}
export GS_TMP=${GS_TMP:-/tmp/kvplan_gpu_session}
export GPU_SESSION_DRYRUN=$DRY PYTHONUNBUFFERED=1 KVPLAN_NO_CACHE=1 TRITON_CACHE_DIR=$GS_TMP/triton_cache
export KVPLAN_VALIDATED_SPECS=$REPO/benchmarks/gpu_specs.json
rm -rf "$GS_TMP" && mkdir -p "$GS_TMP/pkg/kvplan" "$OUT"
# kvplan from this checkout: kvplan/ as is, kernels/ as kvplan.kernels, model_specs/ as kvplan.model_specs
cp -r "$REPO/kvplan/." "$GS_TMP/pkg/kvplan/"
ln -s "$REPO/kernels" "$GS_TMP/pkg/kvplan/kernels"
ln -s "$REPO/model_specs" "$GS_TMP/pkg/kvplan/model_specs"
PYPATH=$GS_TMP/pkg
if [ "${GPU_SESSION_BLOCK_PYDANTIC:-0}" = 1 ]; then  # act like the GPU image, which has no pydantic
  mkdir -p "$GS_TMP/block"
  echo 'raise ModuleNotFoundError("No module named '"'pydantic'"' (blocked by GPU_SESSION_BLOCK_PYDANTIC)", name="pydantic")' \
    > "$GS_TMP/block/pydantic.py"
  PYPATH=$GS_TMP/block:$PYPATH
fi
export PYTHONPATH=$PYPATH${PYTHONPATH:+:$PYTHONPATH}
if [ "$DRY" = 1 ]; then JOBS=${GPU_SESSION_JOBS:-2}; else JOBS=${GPU_SESSION_JOBS:-8}; unset TRITON_INTERPRET; fi
el() { echo $(( $(date +%s) - T0 )); }
PHASES=""
left() {  # seconds a phase may take: its cap (scaled), within the deadline (20 s kept for the summary)
  local cap=$(( $1 * SCALE )) rest=$(( DEADLINE - 20 - $(date +%s) + T0 ))
  [ "$rest" -lt "$cap" ] && cap=$rest
  [ "$cap" -lt 1 ] && cap=1
  echo "$cap"
}
phase() {  # name cap command...: run under its own timeout, record seconds and exit status
  local name=$1 cap=$2; shift 2
  local t=$(date +%s)
  if [ "$cap" -lt 5 ]; then  # the deadline leaves it no time: skipped, recorded as timed out
    echo "[$(el)s] $name: skipped, $cap s left"
    PHASES="$PHASES\"$name\": [0, 124], "
    return
  fi
  echo "[$(el)s] $name (limit ${cap}s)"
  timeout -k 5 "$cap" "$@"
  local rc=$?
  echo "[$(el)s] $name: exit $rc after $(( $(date +%s) - t ))s"
  PHASES="$PHASES\"$name\": [$(( $(date +%s) - t )), $rc], "
}
checks() {  # the check groups, JOBS at a time, each under the phase's timeout
  local cap=$1 running=0 g
  for g in bf16 fp16 fp8_e4m3:tensor fp8_e4m3:head int8 int4 mla; do
    timeout -k 5 "$cap" "$PY" "$REPO/benchmarks/gpu_session.py" check "$g" > "$GS_TMP/log_check_${g/:/_}.txt" 2>&1 &
    running=$(( running + 1 ))
    if [ "$running" -ge "$JOBS" ]; then wait -n; running=$(( running - 1 )); fi
  done
  wait
  for f in "$GS_TMP"/log_check_*.txt; do
    echo "--- $(basename "$f"): $(grep -c '"ok": true' "$f") ok, $(grep -c '"ok": false' "$f") failed"
    grep -v '"ok": true' "$f" | tail -n 8
  done
}
measure_args() {
  if [ "$DRY" = 1 ]; then
    echo "llama3-8b --interpret --ctx 16 --batch 1 --layers 1 --kv-dtype bf16,fp8 --repeat 1"
  else
    echo "llama3-8b --ctx 8k --batch 16 --kv-dtype bf16,fp8,int8 --repeat 10"
  fi
}
cli_runs() {  # name, the exit status it must end with, then kvplan's arguments; JSON reports into $CLI_DIR
  if [ "$DRY" = 1 ]; then
    local m="--interpret --ctx 40 --batch 2 --layers 2 --repeat 1"
    echo "measure-llama3-8b 0 measure llama3-8b $m --kv-dtype bf16,fp8,int8,int4 --out @/measure-llama3-8b.json"
    echo "measure-gemma2-9b 0 measure gemma2-9b $m --kv-dtype bf16,fp8 --out @/measure-gemma2-9b.json"
    echo "measure-deepseek-v2-lite 0 measure deepseek-v2-lite $m --kv-dtype bf16,fp8,int8 --out @/measure-deepseek-v2-lite.json"
    echo "report-llama3-8b 0 report @/measure-llama3-8b.json"
    echo "speed-calibrated 2 speed llama3-8b --gpu h200 --ctx 4k --users 1,16,64 --calibration @/measure-llama3-8b.json --json"
  else
    echo "measure-llama3-8b 0 measure llama3-8b --ctx 8k --batch 16 --kv-dtype bf16,fp8,int8,int4 --repeat 10 --probe-capacity --out @/measure-llama3-8b.json"
    echo "measure-gemma2-9b 0 measure gemma2-9b --ctx 8k --batch 16 --kv-dtype bf16,fp8 --repeat 10 --out @/measure-gemma2-9b.json"
    echo "measure-deepseek-v2-lite 0 measure deepseek-v2-lite --ctx 32k --batch 8 --kv-dtype bf16,fp8,int8 --repeat 10 --out @/measure-deepseek-v2-lite.json"
    echo "probe-llama3-70b-fp8 0 measure llama3-70b --ctx 8k --batch 16 --layers 4 --kv-dtype fp8 --weights fp8 --repeat 5 --probe-capacity --out @/probe-llama3-70b-fp8.json"
    echo "report-llama3-8b 0 report @/measure-llama3-8b.json"
    echo "speed-calibrated 0 speed llama3-8b --gpu h200 --ctx 4k --users 1,16,64 --calibration @/measure-llama3-8b.json --json"
  fi
  echo "speed-shipped 0 speed llama3-8b --gpu h200 --ctx 4k --users 1,16,64 --json"
}
cli_path() {  # PYTHONPATH for the cli and pytest phases: pydantic (carried wheels where the machine has none)
  # and kvplan: the checkout's package folder, or, with GPU_SESSION_INSTALL=1, the checkout installed
  # with pip into this python (what the device machine, which is thrown away after, does)
  local path=$GS_TMP/pkg
  if ! PYTHONPATH= "$PY" -c 'import pydantic' 2> /dev/null; then
    ls "$REPO"/.whl/*.whl > /dev/null 2>&1 || { echo "no pydantic here and no wheels in .whl/" >&2; return 3; }
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$GS_TMP/site" \
      "$REPO"/.whl/*.whl >&2 || return 4
    path=$GS_TMP/site:$path
  fi
  if [ "${GPU_SESSION_INSTALL:-0}" = 1 ]; then
    (cd "$REPO" && KVPLAN_PURE_PYTHON=1 "$PY" -m pip install -q --no-deps --no-build-isolation -e .) >&2 || return 5
    path=${path%"$GS_TMP/pkg"}
  fi
  echo "${path%:}"
}
cli_phase() {  # kvplan's CLI with pydantic; every command's exit status and output -> $OUT/cli.json
  export CLI_DIR=$GS_TMP/cli
  mkdir -p "$CLI_DIR"
  local path
  path=$(cli_path) || return $?
  echo "$path" > "$GS_TMP/cli_pythonpath"
  export PYTHONPATH=$path
  unset KVPLAN_VALIDATED_SPECS
  cd "$CLI_DIR" || return 6
  local name want args rc
  cli_runs | while read -r name want args; do
    args=${args//@/$CLI_DIR}
    echo "+ kvplan $args"
    # shellcheck disable=SC2086
    "$PY" -P -m kvplan.cli.main $args > "$CLI_DIR/$name.out" 2>&1
    rc=$?
    echo "$rc $want" > "$CLI_DIR/$name.rc"
    echo "  exit $rc (expected $want): $(tail -n 2 "$CLI_DIR/$name.out" | tr '\n' ' ' | cut -c1-300)"
  done
  "$PY" - "$CLI_DIR" "$OUT/cli.json" <<'PYEOF'
import json, pathlib, sys
d = pathlib.Path(sys.argv[1])
runs = {}
for rc in sorted(d.glob("*.rc")):
    got, want = (int(x) for x in rc.read_text().split())
    out = rc.with_suffix(".out").read_text(errors="replace")
    rep = d / (rc.stem + ".json")
    runs[rc.stem] = {"exit": got, "expected_exit": want, "output": out[-20000:],
                     "report": json.loads(rep.read_text()) if rep.exists() else None}
pathlib.Path(sys.argv[2]).write_text(json.dumps(runs, indent=1) + "\n")
bad = [k for k, r in runs.items() if r["exit"] != r["expected_exit"]]
print(f"cli.json: {len(runs)} commands, exits {[r['exit'] for r in runs.values()]}; unexpected: {bad or 'none'}")
sys.exit(1 if bad else 0)
PYEOF
}
ncu_phase() {  # Nsight Compute on one decode launch per format -> $OUT/ncu.txt (plain run without ncu)
  local ncu
  ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2> /dev/null | head -n 1)
  if [ -z "$ncu" ] || [ "$DRY" = 1 ]; then
    echo "no ncu (or a dry run): the launches alone"
    "$PY" "$REPO/benchmarks/gpu_session.py" ncu
    return $?
  fi
  "$ncu" --clock-control none -k regex:_decode_kernel -c 6 --section SpeedOfLight --section Occupancy \
    --section LaunchStats --section MemoryWorkloadAnalysis --section WarpStateStats --section ComputeWorkloadAnalysis \
    --section SchedulerStats "$PY" "$REPO/benchmarks/gpu_session.py" ncu > "$OUT/ncu.txt" 2>&1
  local rc=$?
  grep -E "ncu_case|_decode_kernel|DRAM Throughput|Compute \(SM\) Throughput|Achieved Occupancy|Registers Per|Duration|Issue Slots Busy|No Eligible|Stall" "$OUT/ncu.txt" | head -n 80
  return $rc
}
pytest_phase() {  # the kernel and measure tests on the GPU, kvplan as the cli phase found it -> $OUT/pytest.txt
  cd "$REPO" || return 6
  [ -f "$GS_TMP/cli_pythonpath" ] || { echo "the cli phase did not run"; return 3; }
  export PYTHONPATH=$(cat "$GS_TMP/cli_pythonpath")
  unset KVPLAN_VALIDATED_SPECS
  "$PY" -P -m pytest -q -p no:cacheprovider -n 8 tests/test_kernels_write.py tests/test_kernels_decode.py \
    tests/test_kernels_mla.py tests/test_kernels_alloc.py tests/test_kernels_tiles.py tests/test_measure.py \
    > "$OUT/pytest.txt" 2>&1
  local rc=$?
  tail -n 12 "$OUT/pytest.txt"
  # measure --interpret in process needs the interpreter from the start (tests/test_measure.py)
  echo "--- TRITON_INTERPRET=1 -m interpret tests/test_measure.py" >> "$OUT/pytest.txt"
  TRITON_INTERPRET=1 "$PY" -P -m pytest -q -p no:cacheprovider -n 8 -m interpret tests/test_measure.py \
    >> "$OUT/pytest.txt" 2>&1
  local rc2=$?
  tail -n 4 "$OUT/pytest.txt"
  [ "$rc" = 0 ] && [ "$rc2" = 0 ]
}
{
  echo "[0s] kvplan GPU session $(date -u +%FT%TZ) in $REPO ($(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)); dry run: $DRY"
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv
  phase env "$(left 30)" "$PY" "$REPO/benchmarks/gpu_session.py" env
  cap=$(left 120)
  phase check "$cap" bash -c "$(declare -f checks); GS_TMP='$GS_TMP' PY='$PY' REPO='$REPO' JOBS='$JOBS' checks $cap"
  phase bench "$(left 140)" "$PY" "$REPO/benchmarks/gpu_session.py" bench
  phase alloc "$(left 45)" "$PY" "$REPO/benchmarks/gpu_session.py" alloc
  # shellcheck disable=SC2046
  phase measure "$(left 110)" "$PY" -P -m kvplan.cli.main measure $(measure_args) --out "$OUT/measure.json"
  phase step "$(left 90)" "$PY" "$REPO/benchmarks/gpu_session.py" step
  if [ "$EXTRA" = 1 ]; then
    phase ncu "$(left 120)" bash -c "$(declare -f ncu_phase); DRY='$DRY' PY='$PY' REPO='$REPO' OUT='$OUT' ncu_phase"
    phase cli "$(left 170)" bash -c "$(declare -f cli_runs cli_path cli_phase); DRY='$DRY' PY='$PY' REPO='$REPO' OUT='$OUT' \
      GS_TMP='$GS_TMP' cli_phase"
    [ "$DRY" = 1 ] || phase pytest "$(left 100)" bash -c "$(declare -f pytest_phase); PY='$PY' REPO='$REPO' \
      OUT='$OUT' GS_TMP='$GS_TMP' pytest_phase"
  fi
  echo "{${PHASES%, }}" > "$GS_TMP/phases.json"
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active --format=csv
  echo "[$(el)s] summary"
  timeout -k 5 $(( 20 * SCALE )) "$PY" "$REPO/benchmarks/gpu_session.py" summary "$OUT"
  echo "[$(el)s] done"
} 2>&1 | tee "$OUT/log.txt"
