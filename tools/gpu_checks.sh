#!/usr/bin/env bash
# The GPU checks of this session, as one script: CUDA tests, quick profile on CUDA, the trainer benchmark.
# Run on a GPU machine from the repository root, with the wheels of missing packages (pyscipopt) in .whl/;
# writes its logs under $OUT (set OUT to a folder).
set -o pipefail
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; python3 -c "import torch,sys;print(sys.version);print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))"; nproc; } 2>&1 | tee $OUT/env.txt
git rev-parse HEAD 2>/dev/null | tee -a $OUT/env.txt
echo "== CUDA unit test"; timeout 120 python3 -m pytest -q -p no:cacheprovider tests/numerics/test_train.py -k "cuda" 2>&1 | tail -5 | tee $OUT/cuda-tests.txt
echo "== quick profile on CUDA"; SECONDS=0
timeout 300 python3 -m verify all --profile quick --device cuda --out /tmp/cudaq > $OUT/quick-cuda.log 2>&1; rc=$?
echo "rc=$rc seconds=$SECONDS" | tee -a $OUT/quick-cuda.log; tail -60 $OUT/quick-cuda.log
cp /tmp/cudaq/report.json $OUT/quick-cuda-report.json 2>/dev/null; cp /tmp/cudaq/manifest.json $OUT/quick-cuda-manifest.json 2>/dev/null
echo "== bench on CUDA"; timeout 120 python3 -m verify bench --device cuda --skip-quick --format table 2>&1 | tee $OUT/bench-cuda.txt
