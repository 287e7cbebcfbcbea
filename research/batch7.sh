#!/bin/sh
# With the smooth start (prototype default): degree, grid, hidden range, Chebyshev; then the
# training dtype and the learning rate; three problems, fixed points, 512 points,
# 500 Adam (cosine) + 50 L-BFGS.
export OMP_NUM_THREADS=1
while kill -0 $1 2>/dev/null; do sleep 5; done
P=poisson2d,poisson2d_disk,boundary_layer_2d
python -m research.study --tag new64 --arms mlp,kan_app_new,kan_app_d5_new,kan_app_g20_new,kan_py_new,cheb6_new --problems $P \
  --adam 500 --lbfgs 50 --n-interior 512 --dtype float64 --out research/results/study.jsonl
python -m research.study --tag new32 --arms mlp,kan_app_new,kan_app_d5_new --problems $P \
  --adam 500 --lbfgs 50 --n-interior 512 --dtype float32 --out research/results/study.jsonl
python -m research.study --tag lr --arms kan_app_d5_new,mlp --problems $P \
  --adam 500 --lbfgs 50 --n-interior 512 --lr 1e-2 --dtype float64 --out research/results/study.jsonl
