#!/usr/bin/env bash
# The prepared GPU check: all three nets, 25 epochs, on the partial CIFAR-10 set and a generated
# 5,000-image set in the CIFAR format; images/s, s/epoch, peak GPU memory beside archcount's
# estimate, final metrics beside a CPU run. Under 5 minutes on an H200 (bench/gpu_check.py).
#
#   bench/gpu_check.sh                 # on the GPU
#   bench/gpu_check.sh --device cpu    # the same script scaled down: a smoke test (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="${PWD}${PYTHONPATH:+:$PYTHONPATH}"
exec python -m bench.gpu_check "$@"
