"""Analyst worker: statistics, outliers and correlations of a CSV/JSON table, streamed as messages."""

from mesh_worker_analyst.worker import AnalystInput, AnalystWorker

__all__ = ["AnalystInput", "AnalystWorker"]
