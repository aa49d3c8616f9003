"""Relay benchmark of the orchestrator: ``python -m bench`` (``make bench``).

Starts discovery, the fast token worker (``bench.fast_worker``) and the orchestrator as real
processes on loopback ports, then measures, side by side with the worker read directly:
time to first token, relayed events per second, and orchestrator memory per open stream.
See ``bench/README.md``.
"""
