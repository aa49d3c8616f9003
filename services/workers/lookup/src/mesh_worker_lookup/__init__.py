"""Lookup worker: BM25 search over a knowledge base shipped with the package."""

from mesh_worker_lookup.settings import LookupSettings
from mesh_worker_lookup.worker import LookupInput, LookupWorker

__all__ = ["LookupInput", "LookupSettings", "LookupWorker"]
