#!/bin/sh
# Suspect: fixed collocation points. Same screening as batch2 (512 points, 500 Adam at the
# shipped lr 5e-3 cosine, 50 L-BFGS), float64, points redrawn every 10 Adam steps.
export OMP_NUM_THREADS=1
python -m research.study --tag resample10 --arms kan_py,mlp,kan_app,kan_h2_match,cheb6 --problems poisson2d,poisson2d_disk,multiscale_1d \
  --adam 500 --lbfgs 50 --n-interior 512 --resample 10 --dtype float64 --out research/results/study.jsonl
