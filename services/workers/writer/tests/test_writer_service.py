"""The writer as a real process: token streaming, context, adapters, cancellation, and the
OpenAI-compatible API through the official clients. One process for the whole session (the
``writer`` fixture in conftest.py); greedy decoding and few tokens keep it deterministic and
short."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from httpx_sse import aconnect_sse
from langchain_openai import ChatOpenAI

from mesh_testkit import ServiceProcess, wait_until
from mesh_worker_writer.settings import DEFAULT_MODEL_ID, WriterSettings

LONG_PROMPT = "Count from 1 to 1000, separated by commas."


def generations(url: str) -> dict[str, int]:
    counters: dict[str, int] = httpx.get(f"{url}/health").json()["generations"]
    return counters


def task(**inp: Any) -> dict[str, Any]:
    return {"input": {"temperature": 0, "max_tokens": 12, **inp}}


async def test_tokens_stream_one_by_one_while_the_model_generates(writer: ServiceProcess) -> None:
    events: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(timeout=60) as client,
        aconnect_sse(
            client, "POST", f"{writer.url}/stream", json=task(prompt="Describe the sea.")
        ) as source,
    ):
        assert source.response.headers["content-type"].startswith("text/event-stream")
        async for msg in source.aiter_sse():
            events.append(msg.json())
            if len(events) == 1:
                # the first token is here while the generation is still running
                assert events[0]["type"] == "token"
                assert (await client.get(f"{writer.url}/health")).json()["generations"][
                    "active"
                ] == 1
    types = [e["type"] for e in events]
    assert types.count("token") >= 5
    assert types[-2:] == ["result", "done"]
    tokens = "".join(e["token"] for e in events if e["type"] == "token")
    assert tokens == events[-2]["output"]


async def test_the_final_result_reports_the_tokens_the_model_read_and_generated(
    writer: ServiceProcess,
) -> None:
    async with (
        httpx.AsyncClient(timeout=60) as client,
        aconnect_sse(client, "POST", f"{writer.url}/stream", json=task(prompt=LONG_PROMPT)) as s,
    ):
        events = [m.json() async for m in s.aiter_sse()]
        invoked = await client.post(f"{writer.url}/invoke", json=task(prompt=LONG_PROMPT))
    streamed = [e["token"] for e in events if e["type"] == "token"]
    result = events[-2]
    usage = result["usage"]
    # cut at max_tokens=12: every generated token is counted; a streamed piece is one
    # token or more (a character split over tokens waits for its last one)
    assert usage["completion_tokens"] == 12
    assert 0 < len(streamed) <= usage["completion_tokens"]
    assert "".join(streamed) == result["output"]
    assert usage["prompt_tokens"] > len(LONG_PROMPT.split())  # the chat template's too
    assert usage["gpu_s"] == 0.0  # on CPU
    assert usage["wall_s"] > 0
    assert invoked.json()["usage"]["completion_tokens"] == 12


def test_upstream_context_is_used_in_the_answer(writer: ServiceProcess) -> None:
    body = task(prompt="What is the password mentioned in the material? Answer with it only.")
    body["context"] = {"fetch": "The password is PINEAPPLE."}
    r = httpx.post(f"{writer.url}/invoke", json=body, timeout=60)
    assert r.status_code == 200, r.text
    assert "pineapple" in r.json()["output"].lower()


async def test_bad_input_is_an_error_event_on_stream_and_422_on_invoke(
    writer: ServiceProcess,
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        async with aconnect_sse(client, "POST", f"{writer.url}/stream", json=task(prompt="")) as s:
            events = [m.json() async for m in s.aiter_sse()]
        invoke = await client.post(f"{writer.url}/invoke", json=task(prompt="x", temperature=3))
    assert [e["type"] for e in events] == ["error", "done"]
    assert events[0]["code"] == "invalid_input" and "prompt" in events[0]["error"]
    assert invoke.status_code == 422
    assert invoke.json()["detail"][0]["loc"][-1] == "temperature"


def test_an_unknown_adapter_is_refused_before_any_generation(writer: ServiceProcess) -> None:
    before = generations(writer.url)["started"]
    r = httpx.post(f"{writer.url}/invoke", json=task(prompt="hi", adapter="nope"), timeout=30)
    assert r.status_code == 422
    assert "unknown adapter 'nope'" in r.text
    assert generations(writer.url)["started"] == before


def make_adapter(folder: Path) -> None:
    """A tiny LoRA (r=2 on q_proj/v_proj) for the model's architecture, non-zero so that it
    visibly changes the output. The architecture is read from the converted copy of the
    model that the writer keeps (a small JSON file) when there is one, else from the GGUF
    file (seconds: the whole file is parsed)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    from mesh_worker.model_cache import converted_folder

    settings = WriterSettings()
    model_dir, gguf = settings.model_source()
    cache = settings.model_cache_dir.expanduser() if settings.model_cache else None
    converted = converted_folder(cache, model_dir, gguf)
    if converted is not None and (converted / "config.json").is_file():
        config = AutoConfig.from_pretrained(converted)
    else:
        config = AutoConfig.from_pretrained(model_dir, gguf_file=gguf)
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_config(config)
    config = LoraConfig(
        r=2, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    with warnings.catch_warnings():
        # peft calls transformers' deprecated is_gradient_checkpointing; not our code
        warnings.simplefilter("ignore", FutureWarning)
        get_peft_model(base, config).save_pretrained(str(folder), save_embedding_layers=False)


def test_a_lora_adapter_changes_the_answer_and_is_listed(
    writer: ServiceProcess, adapters_dir: Path
) -> None:
    make_adapter(adapters_dir / "tiny")
    prompt = task(prompt="Name a colour.", max_tokens=8)
    plain = httpx.post(f"{writer.url}/invoke", json=prompt, timeout=60).json()["output"]
    adapted = httpx.post(
        f"{writer.url}/invoke", json={"input": {**prompt["input"], "adapter": "tiny"}}, timeout=60
    ).json()["output"]
    again = httpx.post(f"{writer.url}/invoke", json=prompt, timeout=60).json()["output"]
    assert adapted != plain
    assert again == plain  # the adapter is off again for requests without one
    assert "tiny" in httpx.get(f"{writer.url}/health").json()["adapters_loaded"]
    ids = [m["id"] for m in httpx.get(f"{writer.url}/v1/models").json()["data"]]
    assert ids == [DEFAULT_MODEL_ID, f"{DEFAULT_MODEL_ID}:tiny"]


async def test_a_dropped_stream_stops_the_generation_thread(writer: ServiceProcess) -> None:
    before = generations(writer.url)
    async with httpx.AsyncClient(timeout=60) as client:
        body = task(prompt=LONG_PROMPT, max_tokens=1024)
        async with aconnect_sse(client, "POST", f"{writer.url}/stream", json=body) as source:
            tokens = 0
            async for msg in source.aiter_sse():
                tokens += msg.json()["type"] == "token"
                if tokens == 3:
                    break  # leaving the block closes the connection
    # 1024 tokens would take minutes: only a stopped thread gets here in time
    after = wait_until(
        lambda: (g := generations(writer.url))["active"] == 0 and g,
        timeout=30,
        what="the generation thread to end",
    )
    assert after["cancelled"] == before["cancelled"] + 1
    assert after["completed"] == before["completed"]


@pytest.fixture
def client(writer: ServiceProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{writer.url}/v1", api_key="x", max_retries=0) as c:
        yield c


def test_openai_client_gets_a_chat_completion_with_usage(client: openai.OpenAI) -> None:
    models = [m.id for m in client.models.list()]
    assert DEFAULT_MODEL_ID in models
    done = client.chat.completions.create(
        model=DEFAULT_MODEL_ID,
        messages=[{"role": "user", "content": "Say hello."}],
        max_completion_tokens=6,
        temperature=0,
    )
    assert done.object == "chat.completion"
    assert done.choices[0].message.role == "assistant" and done.choices[0].message.content
    assert done.choices[0].finish_reason in ("stop", "length")
    assert done.usage is not None and 0 < done.usage.completion_tokens <= 6
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens


def test_openai_client_streams_chunks_then_finish_reason_and_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model=DEFAULT_MODEL_ID,
            messages=[{"role": "user", "content": "Say hello."}],
            max_tokens=6,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    content = [c.choices[0].delta.content for c in chunks[1:-2]]
    assert len(content) >= 2 and all(content)
    assert chunks[-2].choices[0].finish_reason == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 6


def test_stop_sequences_cut_the_openai_answer(client: openai.OpenAI) -> None:
    kw: dict[str, Any] = {
        "model": DEFAULT_MODEL_ID,
        "messages": [{"role": "user", "content": "Describe the sea."}],
        "max_tokens": 12,
        "temperature": 0,
    }
    full = client.chat.completions.create(**kw).choices[0].message.content
    assert full and " " in full.strip()
    word = full.strip().split(" ")[1]
    cut = client.chat.completions.create(**kw, stop=[word]).choices[0]
    assert cut.finish_reason == "stop"
    assert cut.message.content == full[: full.index(word)]


def test_closing_an_openai_stream_cancels_the_generation(
    client: openai.OpenAI, writer: ServiceProcess
) -> None:
    before = generations(writer.url)["cancelled"]
    stream = client.chat.completions.create(
        model=DEFAULT_MODEL_ID,
        messages=[{"role": "user", "content": LONG_PROMPT}],
        max_tokens=1024,
        temperature=0,
        stream=True,
    )
    for i, _ in enumerate(stream):
        if i == 3:
            break
    stream.close()
    wait_until(
        lambda: generations(writer.url)["cancelled"] == before + 1, timeout=30, what="a cancel"
    )
    assert generations(writer.url)["active"] == 0


def test_an_abandoned_non_streaming_request_cancels_the_generation(
    writer: ServiceProcess,
) -> None:
    before = generations(writer.url)["cancelled"]
    body = {
        "model": DEFAULT_MODEL_ID,
        "messages": [{"role": "user", "content": LONG_PROMPT}],
        "max_tokens": 1024,
        "temperature": 0,
    }
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and hangs up
        httpx.post(f"{writer.url}/v1/chat/completions", json=body, timeout=1.0)
    wait_until(
        lambda: generations(writer.url)["cancelled"] == before + 1, timeout=30, what="a cancel"
    )


def test_langchain_chat_openai_streams_and_invokes(writer: ServiceProcess) -> None:
    # our own HTTP client, closed here: langchain's cached default would leak its sockets
    with httpx.Client() as http_client:
        run_chat_openai(writer.url, http_client)


def run_chat_openai(url: str, http_client: httpx.Client) -> None:
    llm = ChatOpenAI(
        base_url=f"{url}/v1",
        http_client=http_client,
        api_key="x",  # type: ignore[arg-type]
        model=DEFAULT_MODEL_ID,
        temperature=0,
        max_completion_tokens=6,
        max_retries=0,
    )
    pieces = [chunk.content for chunk in llm.stream("Say hello.")]
    assert sum(1 for p in pieces if p) >= 2
    answer = llm.invoke("Say hello.")
    assert answer.content == "".join(str(p) for p in pieces)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_p": 0}, "top_p"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
            "max_tokens",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5000},
            "max_tokens",
        ),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": ["a"] * 5}, "stop"),
    ],
)
def test_bad_openai_requests_get_openai_shaped_400s(
    writer: ServiceProcess, body: dict[str, Any], param: str
) -> None:
    r = httpx.post(f"{writer.url}/v1/chat/completions", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]


def test_openai_client_raises_for_an_unknown_adapter_model(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="nope"):
        client.chat.completions.create(
            model=f"{DEFAULT_MODEL_ID}:nope", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.BadRequestError, match="temperature"):
        client.chat.completions.create(
            model=DEFAULT_MODEL_ID, messages=[{"role": "user", "content": "hi"}], temperature=9
        )
