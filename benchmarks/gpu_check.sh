#!/usr/bin/env bash
# The GPU path's check and figures (issue 24), on a machine with a CUDA GPU, in one go:
#   1. the test that runs only where a GPU is present (tests/test_zi_test.py -k gpu);
#   2. tl.zi_test and the main lesson at the seed's scale on the GPU (seed_scale.py);
#   3. at 1,000,000 cells, the test itself and one epoch of the cell-state model.
# Each step writes its report as it ends, so a step cut short keeps the ones before it.
# Usage: bash benchmarks/gpu_check.sh OUT_DIR [SECONDS]   (SECONDS: the time allowed, default 560)
set -u
out=${1:?usage: bash benchmarks/gpu_check.sh OUT_DIR [SECONDS]}
budget=${2:-560}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 AUTOZI_OFFLINE=1 AUTOZI_ACCELERATOR=gpu MPLBACKEND=Agg
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
python3 -m pytest -q -p no:cacheprovider tests/test_zi_test.py -k gpu 2>&1 | tee "$out/gpu_test.log"
left() { echo $((budget - SECONDS)); }
timeout "$(( $(left) - 120 ))" python3 benchmarks/seed_scale.py --accelerator gpu --steps zi_test,lesson \
  --keep-lesson --out "$out" 2>&1 | grep -v "^Executing" | tail -n 30
timeout "$(left)" python3 benchmarks/seed_scale.py --parts-only --n-cells 1000000 --accelerator gpu \
  --out "$out" 2>&1 | tail -n 30
echo "gpu_check: ${SECONDS} s"
