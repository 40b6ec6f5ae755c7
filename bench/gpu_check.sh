#!/usr/bin/env bash
# GPU smoke test and timings, run by hand on a CUDA machine that already has torch (no install):
#   bash bench/gpu_check.sh OUTDIR
# Trains every model briefly on cuda (fp32, then bf16 + channels_last for the conv GANs), samples
# and evaluates, then times the GAN trainer against the plain loops on the GPU.
set -u
OUT=${1:-bench/out/gpu}
mkdir -p "$OUT"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0))"
fail=0
for m in $($PY -c "from gennet.registry import model_names; print(' '.join(model_names()))"); do
  case $m in cyclegan) data=mnist-thick;; *) data=mnist;; esac
  extra=""
  case $m in dcgan|wgan|wgan-gp|cgan) extra="precision=bf16 channels_last=true";; esac
  if $PY -m gennet train "$m" --data "$data" --device cuda --steps 200 --batch-size 64 --out "$OUT/runs/$m" --quiet \
       --set log_every=50 $extra > "$OUT/$m.log" 2>&1 \
     && $PY -m gennet evaluate "$OUT/runs/$m" --n 500 --no-floor >> "$OUT/$m.log" 2>&1; then
    echo "ok   $m ($(tail -n 1 "$OUT/runs/$m/metrics.jsonl" | cut -c1-90))"
  else
    echo "FAIL $m"; tail -n 20 "$OUT/$m.log"; fail=1
  fi
done
$PY bench/gan_throughput.py --device cuda --repeats 3 --json "$OUT/gan_throughput.json" 2>&1 | grep -v "repeat "
exit $fail
