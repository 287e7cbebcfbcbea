#!/bin/sh
# Screening on a loaded machine: 512 interior points, 500 Adam steps (shipped lr 5e-3, cosine)
# then 50 L-BFGS steps. Suspects: dtype, hidden grid range, init matched to the next grid.
export OMP_NUM_THREADS=1
for dt in float64 float32; do
python -m research.study --tag screen --arms mlp,kan_app,kan_py,kan_app_match,kan_h2_match --problems poisson2d,poisson2d_disk,multiscale_1d \
  --adam 500 --lbfgs 50 --n-interior 512 --dtype $dt --out research/results/study.jsonl
done
