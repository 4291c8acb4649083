"""marsad's connectors: where records come from and where results go, one package per transport.

``files/`` reads article files and writes JSON lines; ``kafka/`` reads topics and writes them,
committing offsets only after everything made from a record is written. The pure core under
``transforms/`` knows nothing of either.
"""
