"""``python -m kinn``: the same as the ``kinn`` command."""

import sys

from kinn.app import main

if __name__ == "__main__":
    sys.exit(main())
