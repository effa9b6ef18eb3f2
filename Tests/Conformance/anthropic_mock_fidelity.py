"""Shows the mock provider's Anthropic dialect is faithful: the official `anthropic` Python SDK, unmodified, talks to it.

Run by the Swift test `MockFidelityTests` with GATEROUTER_MOCK_URL set to the mock's root URL. Prints one line per
check and exits non-zero if any check fails.
"""
import os

import anthropic
from sdk_checks import check, report_and_exit

client = anthropic.Anthropic(base_url=os.environ["GATEROUTER_MOCK_URL"], api_key="mock-key", max_retries=0, timeout=30)
MODEL = "claude-sonnet-4-6"


@check("create")
def _():
    message = client.messages.create(model=MODEL, max_tokens=256, system="Be terse.", messages=[{"role": "user", "content": "Hello"}])
    assert message.type == "message" and message.role == "assistant", message
    assert message.content[0].type == "text" and "Hello" in message.content[0].text, message.content
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0, message


@check("stream_final_message")
def _():
    with client.messages.stream(model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "Stream please"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert "Stream please" in text, text
    assert final.content[0].text == text and final.stop_reason == "end_turn", final


TOOL = {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@check("tool_use_round_trip")
def _():
    first = client.messages.create(model=MODEL, max_tokens=256, tools=[TOOL], messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert first.stop_reason == "tool_use", first.stop_reason
    tool_use = next(block for block in first.content if block.type == "tool_use")
    assert tool_use.name == "get_weather" and tool_use.input == {"city": "mock"}, tool_use
    second = client.messages.create(model=MODEL, max_tokens=256, tools=[TOOL], messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "21C"}]},
    ])
    assert "21C" in second.content[0].text, second.content


@check("streamed_tool_input_accumulates")
def _():
    with client.messages.stream(model=MODEL, max_tokens=256, tools=[TOOL], messages=[{"role": "user", "content": "Weather?"}]) as stream:
        final = stream.get_final_message()
    tool_use = next(block for block in final.content if block.type == "tool_use")
    assert tool_use.input == {"city": "mock"}, tool_use.input


@check("thinking_blocks_are_signed")
def _():
    message = client.messages.create(model=MODEL, max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 1024},
                                     messages=[{"role": "user", "content": "Think"}])
    assert message.content[0].type == "thinking" and message.content[0].signature, message.content


def expect(exception, **kwargs):
    try:
        client.messages.create(**kwargs)
    except exception as error:
        return error
    raise AssertionError(f"expected {exception.__name__}")


@check("rejects_what_anthropic_rejects")
def _():
    expect(anthropic.BadRequestError, model=MODEL, max_tokens=10, messages=[])
    expect(anthropic.BadRequestError, model=MODEL, max_tokens=10, messages=[{"role": "system", "content": "x"}])
    expect(anthropic.BadRequestError, model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}], extra_body={"temperature": 0.5, "top_p": 0.9})
    error = expect(anthropic.BadRequestError, model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}], extra_body={"max_tokens": None})
    assert "max_tokens" in str(error), error


@check("error_classes")
def _():
    expect(anthropic.RateLimitError, model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x [[mock status=429]]"}])
    expect(anthropic.InternalServerError, model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x [[mock status=529]]"}])
    bad = anthropic.Anthropic(base_url=os.environ["GATEROUTER_MOCK_URL"], api_key="wrong", max_retries=0)
    if os.environ.get("GATEROUTER_MOCK_REQUIRES_KEY") == "1":
        try:
            bad.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}])
        except anthropic.AuthenticationError:
            pass
        else:
            raise AssertionError("expected AuthenticationError")


report_and_exit(f"anthropic {anthropic.__version__}")
