#!/bin/sh
# With the smooth start (prototype default): degree, hidden range, Chebyshev (float64), then
# the training dtype (float32); fixed points, 512 points, 500 Adam (cosine) + 50 L-BFGS.
export OMP_NUM_THREADS=1
while kill -0 $1 2>/dev/null; do sleep 5; done
python -m research.study --tag new64 --arms kan_app_new,kan_app_d5_new,cheb6_new --problems poisson2d,boundary_layer_2d,poisson2d_disk \
  --adam 500 --lbfgs 50 --n-interior 512 --dtype float64 --out research/results/study.jsonl
python -m research.study --tag new32 --arms mlp,kan_app_new --problems poisson2d,boundary_layer_2d \
  --adam 500 --lbfgs 50 --n-interior 512 --dtype float32 --out research/results/study.jsonl
