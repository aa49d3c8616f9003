"""The analyst worker: reads a table and streams one markdown message per analysis step."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mesh_contracts import AgentDescriptor, MessageEvent, Skill, StreamingMode, TaskRequest
from mesh_contracts.capabilities import DATA_ANALYSIS
from mesh_worker.usage import report_usage
from mesh_worker.worker import Emit, InputError, Worker
from mesh_worker_analyst import report, stats
from mesh_worker_analyst.conclusion import Findings, conclude
from mesh_worker_analyst.context import table_from_context
from mesh_worker_analyst.table import Table, TableError, parse_table

MAX_ROWS = 100_000
DEFAULT_PORT = 8002


class AnalystInput(BaseModel):
    """The request's ``input``. Without ``data`` the table is looked for in ``context``."""

    model_config = ConfigDict(extra="forbid")

    data: str | list[dict[str, Any]] | None = Field(
        default=None,
        description="CSV text with a header line, JSON records, or a JSON array in a string.",
        max_length=50_000_000,
    )
    question: str | None = Field(default=None, max_length=2_000)
    max_rows: int = Field(default=MAX_ROWS, ge=1, le=MAX_ROWS)


class AnalystWorker(Worker[AnalystInput]):
    """Streams: shape, summary statistics, outliers, correlations (with >= 2 numeric
    columns), conclusion, one complete ``MessageEvent`` each, then returns the findings
    as one dict. Bad data raises ``InputError`` before any message is sent."""

    Input = AnalystInput

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id="analyst",
            name="Data Analyst",
            description=(
                "Analyses tabular data (CSV or JSON records): shape and column types, summary "
                "statistics, IQR outliers, Pearson correlations and a plain-words conclusion "
                "that answers a question about the data. Uses an upstream task's table when "
                "no data is given."
            ),
            capabilities=[DATA_ANALYSIS],
            streaming_mode=StreamingMode.DYNAMIC_MESSAGES,
            skills=[
                Skill(
                    id="describe_table",
                    description="Shape, column types and summary statistics of a CSV/JSON table.",
                    tags=["csv", "json", "statistics", "summary"],
                    examples=["Summarise this CSV", "What are the mean and quartiles of price?"],
                ),
                Skill(
                    id="find_outliers",
                    description="Rows whose values fall outside Tukey's IQR fences.",
                    tags=["outliers", "anomalies", "iqr"],
                    examples=["Which rows are outliers in sales?", "Find unusual values"],
                ),
                Skill(
                    id="correlate",
                    description="Pearson correlations between numeric columns.",
                    tags=["correlation", "relationships", "statistics"],
                    examples=["Is price related to quantity?", "Which columns move together?"],
                ),
            ],
            tags=["analysis", "csv", "statistics"],
            timeout_seconds=120.0,
            max_concurrency=4,
        )

    async def run(self, task: TaskRequest, inp: AnalystInput, emit: Emit) -> dict[str, Any]:
        # no model and no GPU: its usage says 0 tokens and 0 GPU-seconds, and its wall time
        report_usage(prompt_tokens=0, completion_tokens=0, gpu_s=0.0)
        table, origin = await asyncio.to_thread(_load, inp, task.context)
        await emit(MessageEvent(content=report.shape_message(table) + origin))

        numeric = table.numeric_columns
        summaries = await asyncio.to_thread(lambda: {c.name: stats.summarize(c) for c in numeric})
        await emit(MessageEvent(content=report.stats_message(summaries)))

        outliers = {c.name: stats.iqr_outliers(c, summaries[c.name]) for c in numeric}  # one pass
        await emit(MessageEvent(content=report.outliers_message(table, outliers)))

        pairs: list[stats.Correlation] = []
        if len(numeric) >= 2:
            pairs = await asyncio.to_thread(stats.correlations, numeric)
            await emit(MessageEvent(content=report.correlations_message(pairs, len(numeric))))

        findings = Findings(table, summaries, outliers, pairs)
        text = conclude(findings, inp.question)
        heading = f"**Question:** {inp.question}\n\n" if inp.question else ""
        await emit(MessageEvent(content=f"### Conclusion\n\n{heading}{text}"))
        return _output(findings, inp.question, text)


def _load(inp: AnalystInput, context: dict[str, Any]) -> tuple[Table, str]:
    """The table to analyse and a note on where it came from (empty for ``data``)."""
    try:
        if inp.data is not None:
            table = parse_table(inp.data, max_rows=inp.max_rows)
            origin = ""
        else:
            found = table_from_context(context, max_rows=inp.max_rows)
            if found is None:
                where = f" (upstream tasks: {', '.join(context)})" if context else ""
                raise InputError(
                    "input.data is missing and no upstream output holds CSV or JSON rows with "
                    f"a numeric column{where}"
                )
            table, task_id = found
            origin = f"\n\nThe table comes from the output of upstream task `{task_id}`."
    except TableError as exc:
        raise InputError(f"input.data: {exc}") from exc
    if not table.numeric_columns:
        kinds = ", ".join(f"{c.name} ({c.type})" for c in table.columns)
        raise InputError(f"input.data: no numeric columns to analyse; columns are {kinds}")
    return table, origin


def _output(f: Findings, question: str | None, conclusion: str) -> dict[str, Any]:
    return {
        "shape": {"rows": f.table.n_rows, "columns": len(f.table.columns)},
        "source": f.table.source,
        "columns": [
            {"name": c.name, "type": c.type, "missing": c.missing} for c in f.table.columns
        ],
        "stats": {name: s.as_dict() for name, s in f.summaries.items()},
        "outliers": {
            "method": "iqr",
            "factor": stats.IQR_FACTOR,
            "columns": {n: o.as_dict() for n, o in f.outliers.items() if o is not None},
        },
        "correlations": [c.as_dict() for c in f.correlations],
        "question": question,
        "conclusion": conclusion,
    }
