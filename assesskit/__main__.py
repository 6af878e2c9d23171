"""``python -m assesskit``: the command line (see :mod:`assesskit.cli`)."""

import sys

from .cli import main

sys.exit(main())
