#!/bin/sh
# Smooth start (spline branch zero at init) across hidden grid ranges and degrees, on three
# more problems; fixed points (shipped default), float64, 512 points, 500 Adam + 50 L-BFGS.
export OMP_NUM_THREADS=1
while kill -0 $1 2>/dev/null; do sleep 5; done
python -m research.study --tag smooth2 --arms mlp,kan_app,kan_app_smooth,kan_py_smooth,kan_h2_smooth,kan_app_d5_smooth,cheb6,cheb6_smooth --problems boundary_layer_2d,poisson3d,kovasznay \
  --adam 500 --lbfgs 50 --n-interior 512 --dtype float64 --out research/results/study.jsonl
