"""Article files in, JSON-lines files out: ``reader`` is plain Python (also used by ``marsad
replay``, which needs no Beam), ``source`` and ``sink`` are its Beam transforms."""
