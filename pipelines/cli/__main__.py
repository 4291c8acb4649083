"""``python -m pipelines.cli``: the tests and benchmarks start the command this way."""

import sys

from pipelines.cli import main

sys.exit(main())
