"""``kinn`` and ``python -m kinn``: the command, with the process settings it applies to
its own process (the library applies none)."""

import os
import sys


def main() -> int:
    """Console entry point: tune the allocator (``KINN_TUNE_MALLOC=0`` keeps glibc's
    defaults), then run :func:`kinn.app.main` on ``sys.argv``."""
    from kinn import tune_allocator

    if os.environ.get("KINN_TUNE_MALLOC", "1") != "0":
        tune_allocator()
    from kinn.app import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
