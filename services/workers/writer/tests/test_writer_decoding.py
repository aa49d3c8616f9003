"""Token ids to text deltas and stop strings, with a byte-level fake tokenizer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from mesh_worker_writer.decoding import IncrementalDecoder, StopMatcher


class ByteTokenizer:
    """Each token id is one byte, as byte-level BPE can split a multi-byte character."""

    def decode(self, token_ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        return bytes(token_ids).decode("utf-8", errors="replace")


def feed_all(text: str) -> list[str]:
    decoder = IncrementalDecoder(ByteTokenizer())
    deltas = [decoder.push(b) for b in text.encode()]
    return [*deltas, decoder.flush()]


def test_multi_byte_characters_are_emitted_whole_once_complete() -> None:
    deltas = feed_all("a🌊é")
    assert deltas == ["a", "", "", "", "🌊", "", "é", ""]
    assert "\ufffd" not in "".join(deltas)


def test_deltas_concatenate_to_the_full_decode() -> None:
    text = "Grüße, 世界! ok"
    assert "".join(feed_all(text)) == text


def test_flush_releases_an_incomplete_character_at_the_end() -> None:
    decoder = IncrementalDecoder(ByteTokenizer())
    assert decoder.push("🌊".encode()[0]) == ""
    assert decoder.flush() == "\ufffd"
    assert decoder.token_count == 1


def run_matcher(stops: list[str], pieces: list[str]) -> tuple[str, bool]:
    matcher = StopMatcher(stops)
    out = "".join(matcher.feed(p) for p in pieces)
    return out + matcher.flush(), matcher.stopped


@pytest.mark.parametrize(
    ("stops", "pieces", "expected"),
    [
        ([], ["ab", "cd"], ("abcd", False)),
        (["END"], ["hello E", "N", "D tail"], ("hello ", True)),
        (["END"], ["hello E", "N", "x"], ("hello ENx", False)),
        (["\n\n", "###"], ["one\n", "\ntwo"], ("one", True)),
        (["xyz"], ["abc", "xy"], ("abcxy", False)),  # a held prefix is released at the end
    ],
)
def test_text_is_cut_before_the_first_stop_string(
    stops: list[str], pieces: list[str], expected: tuple[str, bool]
) -> None:
    assert run_matcher(stops, pieces) == expected


def test_a_possible_stop_prefix_is_held_back_until_decided() -> None:
    matcher = StopMatcher(["STOP"])
    assert matcher.feed("go ST") == "go "
    assert matcher.feed("ay") == "STay"
    assert not matcher.stopped


def test_nothing_is_emitted_after_a_stop() -> None:
    matcher = StopMatcher(["."])
    assert matcher.feed("One. Two") == "One"
    assert matcher.feed(" three") == ""
    assert matcher.flush() == ""
