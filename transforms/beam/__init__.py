"""The Beam layer: one module per step of the graph, each a thin PTransform around the pure core.

Every step turns a failure on one element into a dead letter that names the step and keeps the
element, so that one bad article never stops the job and none is lost without trace.
"""
