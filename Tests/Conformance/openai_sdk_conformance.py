"""Drives a live GateRouter with the official `openai` Python SDK, unmodified.

Run by the Swift test `OpenAISDKConformanceTests`, which starts the gateway and a mock upstream on loopback and
passes GATEROUTER_BASE_URL (…/openai/v1), GATEROUTER_API_KEY and GATEROUTER_MODEL. Prints one line per check and
exits non-zero if any check fails.
"""
import json
import os

import openai
from openai import OpenAI
from sdk_checks import check, report_and_exit

BASE_URL = os.environ["GATEROUTER_BASE_URL"]
API_KEY = os.environ["GATEROUTER_API_KEY"]
MODEL = os.environ.get("GATEROUTER_MODEL", "deepseek/deepseek-v3.2")

client = OpenAI(base_url=BASE_URL, api_key=API_KEY, max_retries=0, timeout=30)


@check("create")
def _():
    completion = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Say hello"}])
    assert completion.model == MODEL, completion.model
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content, "empty content"
    assert completion.choices[0].finish_reason == "stop", completion.choices[0].finish_reason
    assert completion.usage is not None and completion.usage.total_tokens > 0, completion.usage


@check("create_with_raw_response_headers")
def _():
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert raw.headers.get("x-request-id"), "missing x-request-id"
    assert raw.headers.get("x-gaterouter-upstream-model"), "missing x-gaterouter-upstream-model"
    assert raw.parse().model == MODEL


@check("stream")
def _():
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Count to three"}], stream=True
    )
    text = ""
    chunks = 0
    finish = None
    for chunk in stream:
        chunks += 1
        assert chunk.model == MODEL, chunk.model
        assert chunk.usage is None, "usage chunk sent without include_usage"
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    assert chunks >= 3, chunks
    assert text, "no streamed text"
    assert finish == "stop", finish


@check("stream_include_usage")
def _():
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].choices == [], chunks[-1]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0, chunks[-1].usage


@check("models_list")
def _():
    models = client.models.list()
    ids = [model.id for model in models.data]
    assert MODEL in ids, ids
    assert "openai/gpt-5.2" in ids and "anthropic/claude-sonnet-4.6" in ids, ids
    assert all(model.object == "model" and model.owned_by for model in models.data)


@check("models_retrieve_with_slash")
def _():
    model = client.models.retrieve(MODEL)
    assert model.id == MODEL, model.id


@check("authentication_error")
def _():
    bad = OpenAI(base_url=BASE_URL, api_key="gr-wrong", max_retries=0)
    try:
        bad.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    except openai.AuthenticationError as error:
        assert error.status_code == 401
        assert error.body and error.body.get("code") == "invalid_api_key", error.body
    else:
        raise AssertionError("expected AuthenticationError")


@check("not_found_error")
def _():
    try:
        client.models.retrieve("nope/not-a-model")
    except openai.NotFoundError as error:
        assert error.status_code == 404
    else:
        raise AssertionError("expected NotFoundError")


@check("bad_request_unknown_model")
def _():
    try:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    except openai.BadRequestError as error:
        assert "provider routing is not configured" in error.message, error.message
        assert error.body.get("param") == "model", error.body
    else:
        raise AssertionError("expected BadRequestError")


@check("bad_request_invalid_messages")
def _():
    try:
        client.chat.completions.create(model=MODEL, messages="not a list")
    except openai.BadRequestError as error:
        assert error.body.get("param") == "messages", error.body
    else:
        raise AssertionError("expected BadRequestError")


@check("stream_error_mid_stream_raises")
def _():
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi there, how are you today? [[mock error_after=2]]"}],
        stream=True,
    )
    try:
        for _ in stream:
            pass
    except openai.APIError as error:
        assert "mid-stream" in str(error), error
    else:
        raise AssertionError("expected APIError from an in-band stream error")


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@check("tool_call_round_trip")
def _():
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls", choice.finish_reason
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather", call
    assert json.loads(call.function.arguments) == {"city": "mock"}, call.function.arguments
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "21C and sunny"})
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL], tool_choice="auto")
    assert second.choices[0].finish_reason == "stop", second.choices[0].finish_reason
    assert "21C and sunny" in second.choices[0].message.content, second.choices[0].message.content


@check("tool_call_stream")
def _():
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER_TOOL], stream=True
    )
    calls = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                entry = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
                entry["id"] = delta.id or entry["id"]
                if delta.function:
                    entry["name"] = delta.function.name or entry["name"]
                    entry["arguments"] += delta.function.arguments or ""
    assert finish == "tool_calls", finish
    assert list(calls) == [0], calls
    assert calls[0]["id"] and calls[0]["name"] == "get_weather", calls
    assert json.loads(calls[0]["arguments"]) == {"city": "mock"}, calls


@check("reasoning_round_trip")
def _():
    """Reasoning comes back as `reasoning_content`; what the provider needs on the next turn (Anthropic's signed thinking
    in `reasoning_details`, Gemini's `extra_content.google.thought_signature`, DeepSeek's `reasoning_content`) survives a
    client that sends the message back as received, and a client that keeps only the standard fields still works."""
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL], reasoning_effort="low")
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls", first.choices[0].finish_reason
    assert getattr(message, "reasoning_content", None), message
    call = message.tool_calls[0]
    result = {"role": "tool", "tool_call_id": call.id, "content": "21C and sunny"}
    kept = client.chat.completions.create(
        model=MODEL, tools=[WEATHER_TOOL], reasoning_effort="low",
        messages=messages + [message.model_dump(exclude_none=True), result],
    )
    assert "21C and sunny" in kept.choices[0].message.content, kept.choices[0].message
    bare = {"role": "assistant", "content": message.content, "tool_calls": [
        {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
        for c in message.tool_calls
    ]}
    stripped = client.chat.completions.create(model=MODEL, tools=[WEATHER_TOOL], reasoning_effort="low", messages=messages + [bare, result])
    assert "21C and sunny" in stripped.choices[0].message.content, stripped.choices[0].message


# A 1x1 transparent PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


@check("image_part")
def _():
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        ]}],
    )
    assert "I see 1 image(s)" in completion.choices[0].message.content, completion.choices[0].message.content


@check("json_schema_output")
def _():
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Rate this gateway."}],
        response_format={"type": "json_schema", "json_schema": {"name": "rating", "strict": True, "schema": {
            "type": "object",
            "properties": {"answer": {"type": "string"}, "score": {"type": "integer"}},
            "required": ["answer", "score"],
            "additionalProperties": False,
        }}},
    )
    data = json.loads(completion.choices[0].message.content)
    assert set(data) == {"answer", "score"} and isinstance(data["score"], int), data


def expect_error(exception, status, directive):
    try:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": f"hi {directive}"}])
    except exception as error:
        assert error.status_code == status, (error.status_code, error.body)
        assert isinstance(error.body, dict) and "message" in error.body, error.body
        return error
    raise AssertionError(f"expected {exception.__name__}")


@check("upstream_rate_limit_error")
def _():
    error = expect_error(openai.RateLimitError, 429, "[[mock status=429]]")
    assert error.response.headers.get("retry-after"), "Retry-After must be kept"


@check("upstream_bad_request_error")
def _():
    expect_error(openai.BadRequestError, 400, "[[mock status=400]]")


@check("upstream_permission_error")
def _():
    expect_error(openai.PermissionDeniedError, 403, "[[mock status=403]]")


@check("upstream_server_error")
def _():
    expect_error(openai.InternalServerError, 502, "[[mock status=500]]")


report_and_exit(f"openai {openai.__version__}")
