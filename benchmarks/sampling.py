"""Points per second of every sampler on CSG shapes; prints one JSON object per line.

python -m benchmarks.sampling [--n 20000] [--repeats 3]
"""

import argparse
import json
import time

import torch

from kinn.geometry import METHODS, Cuboid, Disk, Rectangle, Sphere


def best_time(draw, n, method, repeats):
    """Best wall time of ``draw(n, method, seed=0)`` over ``repeats`` runs, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        draw(n, method, seed=0)
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    shapes = {
        "plate_with_hole_2d": Rectangle([0, 0], [20, 20]) - Disk([0, 0], 5).named("hole"),
        "cube_minus_ball_3d": Cuboid([0, 0, 0], [2, 2, 2]) - Sphere([1, 1, 1], 0.8),
    }
    for shape, geom in shapes.items():
        for method in METHODS:
            interior = best_time(geom.sample_interior, args.n, method, args.repeats)
            boundary = best_time(geom.sample_boundary, args.n, method, args.repeats)
            print(
                json.dumps(
                    {
                        "shape": shape,
                        "sampler": method,
                        "n": args.n,
                        "interior_points_per_s": round(args.n / interior),
                        "boundary_points_per_s": round(args.n / boundary),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
