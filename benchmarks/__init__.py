"""The benchmark suite: `experiments bench` (see docs/benchmarks.md).

Outside the hexagon, like `devtools`: it drives the service as a user would (its commands,
its HTTP API, its worker) on a database of its own, and measures each figure interleaved with
a baseline that does the same work without the service, so that the ratio means something on
any machine.
"""
