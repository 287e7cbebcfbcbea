#!/bin/sh
# The plate (energy form, the default `kinn` problem; h = 0.7 rule): shipped Adam stage
# (500 steps, lr 5e-3, cosine) then 100 L-BFGS steps, float64 and float32 (shipped).
export OMP_NUM_THREADS=1
for dt in float64 float32; do
python -m research.study --tag plate --arms mlp,kan_app,kan_app_smooth --problems plate_hole \
  --adam 500 --lbfgs 100 --dtype $dt --out research/results/study.jsonl
done
