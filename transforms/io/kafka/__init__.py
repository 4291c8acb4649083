"""Kafka in and out, with kafka-python (Beam's own KafkaIO is a Java cross-language transform).

One module per concern; only ``source``, ``sink``, ``ledger`` and ``runtime`` import Beam:

- ``address``: ``kafka://HOST:PORT/NAME`` addresses and start positions;
- ``admin``: topics, retention, partition plans and group lag, usable without Beam (``marsad
  replay``, ``marsad topics``, the report viewer); topics are created here, by the caller, before a
  pipeline is built, never while it is built;
- ``source``: the reader, a Splittable DoFn over topic partitions; its clock rule is in
  ``watermark`` and its flow control in ``backpressure``, both pure functions;
- ``sink``: the writer to ``PREFIX.{articles,alerts,events,deadletter}``;
- ``ledger``: the offsets whose outputs are all written, committed for the consumer group;
- ``progress``: live counts for the progress line of a stream job;
- ``runtime``: the one object the reader, the sink and the driver share in a process.

Delivery is at-least-once: offsets are committed for the consumer group only after everything
made from the records (article, alerts, events, dead letters) has been acknowledged by the broker.
Re-delivered articles yield the same deterministic ids (article, alert, event), so consumers
dedupe by id.

This package imports nothing on import, so that ``admin`` stays free of Beam.
"""
