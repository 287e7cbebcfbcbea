#!/bin/sh
# Suspect 1 (training dtype) and 2 (grid range of hidden layers): shipped Adam stage (lr 5e-3,
# cosine) for 1000 steps then 100 L-BFGS steps, on three problems.
export OMP_NUM_THREADS=1
for dt in float32 float64; do
python -m research.study --tag dtype --arms mlp,kan_app,kan_py,cheb6 --problems poisson2d,helmholtz2d,burgers \
  --adam 1000 --lbfgs 100 --dtype $dt --out research/results/study.jsonl
done
