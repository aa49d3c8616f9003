import json

import pytest

from mesh_worker_analyst.table import TableError, parse_table


def test_csv_with_quoted_commas_and_escaped_quotes_keeps_each_field_whole():
    text = 'name,score,comment\n"Smith, J.",3.5,"said ""hi"""\nLee,4,plain\n'
    table = parse_table(text, max_rows=10)
    assert table.n_rows == 2
    assert table.column("name").values == ["Smith, J.", "Lee"]
    assert table.column("comment").values == ['said "hi"', "plain"]
    assert table.column("score").values == [3.5, 4.0]
    assert table.column("score").type == "number"


def test_semicolon_delimited_csv_is_detected_from_the_header():
    table = parse_table("a;b\n1;2\n3;4\n", max_rows=10)
    assert [c.name for c in table.columns] == ["a", "b"]
    assert table.column("b").values == [2.0, 4.0]


def test_types_are_inferred_and_missing_markers_become_none():
    text = "i,f,flag,word,blank\n1,1.5,yes,x,\n2,NA,no,y,\n,2.5,yes,n/a,\n"
    table = parse_table(text, max_rows=10)
    types = {c.name: c.type for c in table.columns}
    assert types == {
        "i": "integer",
        "f": "number",
        "flag": "boolean",
        "word": "text",
        "blank": "empty",
    }
    assert table.column("i").values == [1.0, 2.0, None]
    assert table.column("f").missing == 1
    assert table.column("word").values == ["x", "y", None]


def test_json_records_take_the_union_of_keys_in_first_seen_order():
    records = [{"a": 1, "b": "x"}, {"b": "y", "c": 2.5}, {"a": 3}]
    table = parse_table(records, max_rows=10)
    assert [c.name for c in table.columns] == ["a", "b", "c"]
    assert table.column("a").values == [1.0, None, 3.0]
    assert table.column("c").values == [None, 2.5, None]
    assert table.source == "json"


def test_a_json_array_inside_a_string_is_read_as_records():
    text = json.dumps([{"x": 1, "y": 2}, {"x": 3, "y": 4}])
    table = parse_table("  " + text, max_rows=10)
    assert table.source == "json"
    assert table.column("y").values == [2.0, 4.0]


def test_json_object_wrapping_rows_is_accepted():
    table = parse_table(json.dumps({"rows": [{"v": 1}, {"v": 2}]}), max_rows=10)
    assert table.column("v").values == [1.0, 2.0]


def test_blank_lines_between_csv_rows_are_skipped():
    assert parse_table("a,b\n1,2\n\n3,4\n", max_rows=10).n_rows == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "data is empty"),
        ("   \n  ", "data is empty"),
        ("a,b\n", "header but no rows"),
        ("a,b,c\n1,2,3\n4,5\n", "row 1 (line 3) has 2 fields; the header has 3 columns"),
        ("a,a\n1,2\n", "column name 'a' appears twice"),
        ("[1, 2]", "row 0 is a JSON int, expected an object"),
        ("[]", "data has no rows"),
        ('{"a": 1', "not valid JSON"),
        ('{"a": 1}', "array of objects"),
        ("[{}, {}]", "no columns"),
    ],
)
def test_bad_data_raises_a_precise_error(data, message):
    with pytest.raises(TableError) as info:
        parse_table(data, max_rows=10)
    assert message in str(info.value)


def test_more_rows_than_max_rows_is_refused_for_csv_and_json():
    with pytest.raises(TableError, match="max_rows=2"):
        parse_table("a\n1\n2\n3\n", max_rows=2)
    with pytest.raises(TableError, match="3 rows; the limit is max_rows=2"):
        parse_table([{"a": 1}, {"a": 2}, {"a": 3}], max_rows=2)
