#!/bin/sh
# Suspect: initial roughness of the spline branch. Fixed points (the shipped default), float64,
# 512 points, 500 Adam (lr 5e-3, cosine), 50 L-BFGS.
export OMP_NUM_THREADS=1
while kill -0 $1 2>/dev/null; do sleep 5; done
python -m research.study --tag smooth --arms kan_py_smooth,kan_py_smooth01,kan_app_smooth,kan_h2m_smooth,kan_d5_smooth --problems poisson2d,poisson2d_disk,multiscale_1d \
  --adam 500 --lbfgs 50 --n-interior 512 --dtype float64 --out research/results/study.jsonl
