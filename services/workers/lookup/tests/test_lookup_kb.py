import json

import pytest

from mesh_worker_lookup.index import SearchIndex
from mesh_worker_lookup.kb import KnowledgeBaseError, bundled_dir, load_passages, parse_document
from mesh_worker_lookup.settings import LookupSettings


def test_markdown_is_chunked_by_heading_with_the_document_title():
    text = (
        "# Birds\n\nIntro text.\n\n## Owls\n\nOwls hunt at night.\n\n## Gulls\n\nGulls eat fish.\n"
    )
    passages = parse_document("birds.md", text)
    assert [(p.title, p.text) for p in passages] == [
        ("Birds", "Intro text."),
        ("Birds > Owls", "Owls hunt at night."),
        ("Birds > Gulls", "Gulls eat fish."),
    ]
    assert {p.source for p in passages} == {"birds.md"}


def test_long_sections_are_split_at_paragraphs():
    body = "\n\n".join(" ".join(["word"] * 30) + f" p{i}" for i in range(5))
    passages = parse_document("long.md", f"# Long\n\n{body}\n", max_words=70)
    assert len(passages) == 3  # 31 + 31 words per passage, then the last paragraph alone
    assert passages[0].text.endswith("p1") and passages[-1].text.endswith("p4")


def test_json_documents_with_sections_or_text_are_read():
    doc = {
        "title": "Tea",
        "text": "Tea is a drink.",
        "sections": [{"heading": "Green", "text": "Unoxidised."}],
    }
    passages = parse_document("tea.json", json.dumps([doc]))
    assert [(p.title, p.text) for p in passages] == [
        ("Tea", "Tea is a drink."),
        ("Tea > Green", "Unoxidised."),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [("{oops", "bad.json: invalid JSON"), ('{"text": "x"}', "bad.json: item 0 must be an object")],
)
def test_malformed_json_documents_name_the_file(text, message):
    with pytest.raises(KnowledgeBaseError, match=message):
        parse_document("bad.json", text)


def test_the_bundled_knowledge_base_ships_15_to_25_documents():
    passages, documents = load_passages([bundled_dir()])
    assert 15 <= len(documents) <= 25
    assert {"discovery.md", "streaming-modes.md", "adding-a-worker.md"} <= set(documents)
    assert all(p.text.strip() for p in passages)


def test_kb_dir_overrides_bundled_documents_by_name_and_adds_new_ones(tmp_path, monkeypatch):
    (tmp_path / "discovery.md").write_text("# Replaced\n\nThe registry is now run by wombats.\n")
    (tmp_path / "extra.md").write_text("# Extra\n\nQuokkas smile a lot.\n")
    monkeypatch.setenv("LOOKUP_KB_DIR", str(tmp_path))
    index = SearchIndex.build(LookupSettings())
    assert index.search("wombats registry")[0].passage.title == "Replaced"
    assert index.search("quokkas")[0].passage.source == "extra.md"
    assert not any("Consul" in p.text for p in index.passages if p.source == "discovery.md")


def test_a_missing_kb_dir_is_an_error():
    with pytest.raises(KnowledgeBaseError, match="does not exist"):
        SearchIndex.build(LookupSettings(kb_dir="/nonexistent/kb"))
