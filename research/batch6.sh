#!/bin/sh
# The plate (energy form, the default `kinn` problem; h = 0.7 rule): shipped Adam stage
# (500 steps, lr 5e-3, cosine) then 100 L-BFGS steps, float32 (shipped) and float64.
export OMP_NUM_THREADS=1
while kill -0 $1 2>/dev/null; do sleep 5; done
for dt in float64 float32; do
python -m research.study --tag plate --arms mlp,kan_app,kan_app_smooth,kan_app_d5_smooth,cheb6_smooth --problems plate_hole \
  --adam 500 --lbfgs 100 --dtype $dt --out research/results/study.jsonl
done
