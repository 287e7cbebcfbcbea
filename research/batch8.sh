#!/bin/sh
# The suite on this branch (prototype smooth start) with the 'study' recipe, quick budgets,
# on problems of five classes; DeepXDE's quick figures come from the main-branch run.
export OMP_NUM_THREADS=1
while kill -0 $1 2>/dev/null; do sleep 5; done
python -m benchmarks.accuracy --problems poisson2d,poisson3d,boundary_layer_2d,kovasznay,burgers,plate_hole --models kan,kan_chebyshev,mlp \
  --recipe study --quick --out research/results/suite_quick_branch_study
