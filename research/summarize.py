"""Tables and figures of the study from research/results/study.jsonl.

python -m research.summarize [--out research/results/tables.md]

Each table: one tag (one suspect), rows = arms, columns = problems, cells
``error after Adam / after L-BFGS (CPU s)``; the KAN/MLP ratio after Adam is in brackets when
the same tag ran the MLP on that problem with the same dtype and learning rate.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def load(path=RESULTS / "study.jsonl") -> list[dict]:
    return [json.loads(line) for line in open(path) if line.strip()]


def tables(rows: list[dict]) -> str:
    out = []
    groups = defaultdict(list)
    for r in rows:
        groups[(r["tag"], r["dtype"], r["lr"], r.get("resample"))].append(r)
    for (tag, dtype, lr, resample), rs in groups.items():
        problems = list(dict.fromkeys(r["problem"] for r in rs))
        arms = list(dict.fromkeys(r["arm"] for r in rs))
        mlp = {r["problem"]: r for r in rs if r["arm"] == "mlp"}
        head = f"### {tag}: {dtype}, Adam lr {lr}, {rs[0]['adam']} Adam + {rs[0]['lbfgs']} L-BFGS"
        head += f", {rs[0].get('n_interior') or 'case'} points"
        head += f", resample every {resample}" if resample else ", fixed points"
        out += [
            head,
            "",
            "| arm | " + " | ".join(problems) + " |",
            "|---|" + "---|" * len(problems),
        ]
        for arm in arms:
            cells = []
            for p in problems:
                r = next((r for r in rs if r["arm"] == arm and r["problem"] == p), None)
                if r is None:
                    cells.append("-")
                    continue
                cell = f"{r['err_adam']:.1e} / {r['err']:.1e} ({r.get('cpu_s') or 0:.0f} s)"
                if arm != "mlp" and p in mlp:
                    cell += f" [{r['err_adam'] / mlp[p]['err_adam']:.2g}x]"
                cells.append(cell)
            out.append(f"| {arm} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def figure(rows, tag, arms, path):
    rs = [r for r in rows if r["tag"] == tag and r["arm"] in arms]
    if not rs:
        return
    problems = list(dict.fromkeys(r["problem"] for r in rs))
    fig, axes = plt.subplots(1, len(problems), figsize=(4.2 * len(problems), 3.4), squeeze=False)
    for ax, p in zip(axes[0], problems):
        for r in rs:
            if r["problem"] == p and r["history"]:
                _, t, e = zip(*r["history"])
                ax.semilogy(t, e, label=r["arm"])
        ax.set_title(p)
        ax.set_xlabel("CPU s (training)")
        ax.set_ylabel("relative L2 error")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(RESULTS / "tables.md"))
    args = parser.parse_args()
    rows = load()
    Path(args.out).write_text(tables(rows))
    figures = Path(__file__).parent / "figures"
    figures.mkdir(exist_ok=True)
    figure(
        rows,
        "smooth2",
        ["mlp", "kan_app", "kan_app_smooth", "kan_app_d5_smooth"],
        figures / "smooth_start.png",
    )
    figure(
        rows,
        "plate",
        ["mlp", "kan_app", "kan_app_smooth", "kan_app_d5_smooth", "cheb6_smooth"],
        figures / "plate.png",
    )
    print(f"wrote {args.out} and {figures}/*.png")


if __name__ == "__main__":
    main()
