"""marsad's pipeline graph, its modes and the ``marsad`` command."""

import transforms  # noqa: F401  (quiets Beam's import-time notice before anything imports Beam)
