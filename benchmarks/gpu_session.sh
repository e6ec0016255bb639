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
# Files in $OUT (4 of the 8 the device tool returns): log.txt, summary.md, summary.json,
# measure.json. Commit them under docs/measurements/ named after the device.
set -uo pipefail
T0=$(date +%s)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$REPO/gpu_session_out}
DRY=${GPU_SESSION_DRYRUN:-0}
# The dry run's interpreter on a shared CPU is slow: its limits are scaled (GPU_SESSION_TIME_SCALE).
SCALE=${GPU_SESSION_TIME_SCALE:-$([ "$DRY" = 1 ] && echo 4 || echo 1)}
DEADLINE=$(( ${GPU_SESSION_DEADLINE_S:-540} * SCALE ))
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
  echo "{${PHASES%, }}" > "$GS_TMP/phases.json"
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active --format=csv
  echo "[$(el)s] summary"
  timeout -k 5 $(( 20 * SCALE )) "$PY" "$REPO/benchmarks/gpu_session.py" summary "$OUT"
  echo "[$(el)s] done"
} 2>&1 | tee "$OUT/log.txt"
