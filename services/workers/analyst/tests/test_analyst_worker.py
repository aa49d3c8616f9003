import statistics

import pytest
from pydantic import ValidationError

from mesh_contracts import MessageEvent, TaskRequest
from mesh_worker.worker import InputError
from mesh_worker_analyst import AnalystInput, AnalystWorker
from mesh_worker_analyst.conclusion import columns_named, intents_of

SALES = """region,sales,units
West,100,10
East,200,19
North,150,16
South,120,12
Central,900,31
Nord,130,14
"""


class Recorder:
    def __init__(self):
        self.events = []

    async def __call__(self, event):
        self.events.append(event)

    @property
    def contents(self):
        return [e.content for e in self.events]


async def analyse(data=None, question=None, context=None, rec=None, **kw):
    rec = rec if rec is not None else Recorder()
    inp = AnalystInput(data=data, question=question, **kw)
    out = await AnalystWorker().run(TaskRequest(context=context or {}), inp, rec)
    return out, rec


async def test_streams_one_message_per_step_in_order_and_returns_the_findings():
    out, rec = await analyse(SALES, "Which region has the highest sales?")
    assert all(isinstance(e, MessageEvent) for e in rec.events)
    headings = [c.splitlines()[0] for c in rec.contents]
    assert headings == [
        "### Shape",
        "### Summary statistics",
        "### Outliers",
        "### Correlations",
        "### Conclusion",
    ]
    assert out["shape"] == {"rows": 6, "columns": 3}
    assert out["stats"]["units"]["mean"] == 17.0
    assert out["stats"]["sales"]["median"] == 140.0
    assert out["outliers"]["method"] == "iqr"
    assert out["outliers"]["columns"]["sales"]["rows"] == [4]
    assert out["correlations"][0]["a"] == "sales" and out["correlations"][0]["b"] == "units"
    assert "The highest sales is 900, in row 4 (region = Central)." in out["conclusion"]
    assert out["conclusion"] in rec.contents[-1]


async def test_messages_are_markdown_tables_with_the_computed_numbers():
    _, rec = await analyse(SALES)
    assert "| sales | integer | 0 | 100 |" in rec.contents[0]
    assert "| units | 6 | 0 | 17 | 7.5366 | 10 | 12.5 | 15 | 18.25 | 31 |" in rec.contents[1]
    assert "row 4 (region = Central) = 900" in rec.contents[2]
    assert "| sales ~ units | 0.949 | 6 | strong positive |" in rec.contents[3]


async def test_one_numeric_column_skips_the_correlation_step():
    out, rec = await analyse([{"name": "a", "v": 1}, {"name": "b", "v": 2}, {"name": "c", "v": 4}])
    assert [c.splitlines()[0] for c in rec.contents] == [
        "### Shape",
        "### Summary statistics",
        "### Outliers",
        "### Conclusion",
    ]
    assert out["correlations"] == []


async def test_questions_get_answers_derived_from_the_numbers():
    out, _ = await analyse(SALES, "What is the average units and are there outliers in units?")
    assert "units averages 17 (median 15) over 6 values." in out["conclusion"]
    assert (
        "units has 1 outlier by the IQR rule: row 4 (region = Central) = 31." in out["conclusion"]
    )
    out, _ = await analyse(SALES, "Is sales correlated with units?")
    assert (
        "sales and units show a strong positive relationship (r = 0.949, n = 6)."
        in out["conclusion"]
    )
    out, _ = await analyse(SALES, "What is the total of units?")
    assert "The total of units is 102 over 6 values." in out["conclusion"]


async def test_a_question_without_a_measure_gets_the_overall_picture():
    out, _ = await analyse(SALES, "Tell me a story")
    assert out["conclusion"].startswith("The question does not ask for a measure")
    assert "The table has 6 rows and 3 columns, 2 of them numeric." in out["conclusion"]


def test_question_words_map_to_intents_and_columns():
    assert intents_of("Which is the highest, and does it increase?") == ["max", "trend"]
    assert intents_of("How many minutes does it take?") == []  # "minutes" is not "min"
    assert columns_named("what is the unit price?", ["unit_price", "units"]) == ["unit_price"]


async def test_the_table_is_found_in_an_upstream_output_when_data_is_absent():
    upstream = "Here is the data you asked for:\n\n```csv\nx,y\n1,2\n2,4\n3,7\n```\nEnjoy."
    out, rec = await analyse(context={"fetch": "no table here", "gen": upstream})
    assert out["shape"] == {"rows": 3, "columns": 2}
    assert "upstream task `gen`" in rec.contents[0]


async def test_upstream_json_records_are_used_too():
    out, _ = await analyse(context={"t1": {"output": [{"a": 1, "b": 2}, {"a": 2, "b": 5}]}})
    assert out["stats"]["b"]["mean"] == 3.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data": "a,b\n1,2\n3\n"}, "input.data: row 1 (line 3) has 1 fields"),
        ({"data": "name,city\nann,rome\nbob,oslo\n"}, "no numeric columns to analyse"),
        ({"data": "  "}, "input.data: data is empty"),
        ({"data": "v\n1\n2\n3\n4\n", "max_rows": 3}, "max_rows=3"),
        ({"context": {"t1": "just prose"}}, "no upstream output holds CSV or JSON rows"),
        ({}, "input.data is missing"),
    ],
)
async def test_bad_data_is_an_input_error_before_any_message(kwargs, message):
    rec = Recorder()
    with pytest.raises(InputError) as info:
        await analyse(rec=rec, **kwargs)
    assert message in str(info.value)
    assert rec.events == []


def test_max_rows_above_the_hard_limit_is_rejected_by_the_schema():
    with pytest.raises(ValidationError, match="max_rows"):
        AnalystInput(data="a\n1\n", max_rows=100_001)


async def test_the_analysis_is_deterministic():
    first, rec1 = await analyse(SALES, "outliers?")
    second, rec2 = await analyse(SALES, "outliers?")
    assert first == second and rec1.contents == rec2.contents


def test_descriptor_declares_a_message_streaming_data_analyst():
    d = AnalystWorker().describe()
    assert d.agent_id == "analyst"
    assert d.capabilities == ["data_analysis"]
    assert d.streaming_mode == "dynamic_messages"
    assert {"csv", "statistics", "outliers"} <= {t for s in d.skills for t in s.tags}


async def test_many_outliers_are_counted_in_full_but_listed_briefly():
    records = [{"v": 0} for _ in range(40)] + [{"v": i + 1} for i in range(12)]  # IQR is 0
    out, rec = await analyse(records)
    assert "**v**: 12 outliers outside [0, 0] (first 10 listed)" in rec.contents[2]
    assert out["outliers"]["columns"]["v"]["count"] == 12
    assert out["outliers"]["columns"]["v"]["rows"] == list(range(40, 52))


async def test_a_trend_question_is_answered_with_the_correlation_to_row_order():
    out, _ = await analyse("t,v\n1,1\n2,3\n3,2\n4,5\n5,6\n", "Does v increase?")
    r = statistics.correlation([0, 1, 2, 3, 4], [1, 3, 2, 5, 6])
    assert f"v rises down the rows (r = {r:.3f} with row order)." in out["conclusion"]
