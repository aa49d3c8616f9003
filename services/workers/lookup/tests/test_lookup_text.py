import pytest

from mesh_worker_lookup.text import stem, tokenize


def test_tokenize_lowercases_splits_and_drops_stop_words():
    assert tokenize("The Sun IS a Star, and the Moon?") == ["sun", "star", "moon"]


def test_tokenize_splits_identifiers_on_underscores_and_hyphens():
    assert tokenize("data_analysis lora-trainer") == ["data", "analysis", "lora", "trainer"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("workers", "worker"),
        ("plates", "plate"),
        ("created", "create"),
        ("connecting", "connected"),
        ("planning", "plans"),
        ("studies", "study"),
        ("streaming", "stream"),
    ],
)
def test_inflections_share_one_stem(a, b):
    assert stem(a) == stem(b)


def test_stemming_leaves_short_words_numbers_and_double_l_alone():
    assert stem("gpu") == "gpu"
    assert stem("8849") == "8849"
    assert stem("called") == "call"
    assert stem("analysis") == "analysis"  # a trailing "is" is not a plural
