"""Shows the mock provider's Gemini dialect is faithful: the official `google-genai` Python SDK, unmodified, talks to it.

Run with GATEROUTER_MOCK_URL set to the mock's root URL (and GATEROUTER_MOCK_REQUIRES_KEY=1 when the mock requires the
key "mock-key"). Prints one line per check and exits non-zero if any check fails.
"""
import base64
import json
import os
import urllib.error
import urllib.request

from google import genai
from google.genai import errors, types
from sdk_checks import check, report_and_exit

MOCK_URL = os.environ["GATEROUTER_MOCK_URL"]
MODEL = "gemini-2.5-flash"
GEMINI_3 = "gemini-3-flash-preview"


def make_client(api_key):
    # The SDK's default API version is v1, so v1beta must be asked for. retry_options attempts=1: no retries, whatever
    # the SDK's default (in 3.x no retry_options means a single attempt). timeout is in milliseconds.
    return genai.Client(api_key=api_key, vertexai=False, http_options=types.HttpOptions(
        base_url=MOCK_URL, api_version="v1beta", timeout=30_000, retry_options=types.HttpRetryOptions(attempts=1)))


client = make_client("mock-key")
# A 1x1 transparent PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
WEATHER = types.FunctionDeclaration(name="get_weather", description="Weather", parameters_json_schema={
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False})
TOOLS = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER])])


def user(*parts):
    return types.Content(role="user", parts=[types.Part.from_text(text=p) if isinstance(p, str) else p for p in parts])


@check("generate_content")
def _():
    response = client.models.generate_content(model=MODEL, contents="Hello",
                                              config=types.GenerateContentConfig(system_instruction="Be terse."))
    assert response.text and "Hello" in response.text, response
    assert response.candidates[0].finish_reason == types.FinishReason.STOP, response.candidates
    usage = response.usage_metadata
    assert usage.prompt_token_count > 0 and usage.candidates_token_count > 0 and usage.total_token_count > 0, usage
    assert response.model_version and response.response_id, response


@check("generate_content_stream")
def _():
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="Stream please"))
    text = "".join(chunk.text or "" for chunk in chunks)
    assert "Stream please" in text, text
    last = chunks[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP, last
    assert last.usage_metadata and last.usage_metadata.total_token_count > 0, last.usage_metadata


def weather_round_trip(model):
    """Asks for the weather, answers the call with "21C", returns the model's (unchanged) function-call turn."""
    question = user("Weather in Paris?")
    first = client.models.generate_content(model=model, contents=[question], config=TOOLS)
    assert first.function_calls, first
    call = first.function_calls[0]
    assert call.name == "get_weather" and call.args == {"city": "mock"}, call
    model_turn = first.candidates[0].content
    assert model_turn.role == "model", model_turn
    result = user(types.Part.from_function_response(name="get_weather", response={"result": "21C"}))
    second = client.models.generate_content(model=model, contents=[question, model_turn, result], config=TOOLS)
    assert second.text and "21C" in second.text, second
    return question, model_turn, result


@check("function_call_round_trip")
def _():
    weather_round_trip(MODEL)


@check("streamed_function_call")
def _():
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="Weather?", config=TOOLS))
    calls = [call for chunk in chunks for call in chunk.function_calls or []]
    assert len(calls) == 1 and calls[0].name == "get_weather" and calls[0].args == {"city": "mock"}, calls
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP, chunks[-1]


def expect(exception, call, **kwargs):
    try:
        call(**kwargs)
    except exception as error:
        return error
    raise AssertionError(f"expected {exception.__name__}")


@check("gemini3_thought_signatures")
def _():
    question, model_turn, result = weather_round_trip(GEMINI_3)  # sends the signed turn back unchanged
    part = next(part for part in model_turn.parts if part.function_call)
    assert isinstance(part.thought_signature, bytes) and part.thought_signature, part
    unsigned = model_turn.model_copy(deep=True)
    for each in unsigned.parts:
        each.thought_signature = None
    error = expect(errors.ClientError, client.models.generate_content, model=GEMINI_3,
                   contents=[question, unsigned, result], config=TOOLS)
    assert error.code == 400 and "thought_signature" in (error.message or ""), error


@check("thinking_parts")
def _():
    response = client.models.generate_content(model=MODEL, contents="Think", config=types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True)))
    parts = response.candidates[0].content.parts
    assert parts[0].thought is True and parts[0].text, parts
    assert response.text and "Think" in response.text, response  # `text` leaves the thought parts out
    assert response.usage_metadata.thoughts_token_count, response.usage_metadata


@check("json_schema_output")
def _():
    schema = {"type": "object", "properties": {"answer": {"type": "string"}, "score": {"type": "integer"}},
              "required": ["answer", "score"], "additionalProperties": False}
    response = client.models.generate_content(model=MODEL, contents="Rate this", config=types.GenerateContentConfig(
        response_mime_type="application/json", response_json_schema=schema))
    data = json.loads(response.text)
    assert set(data) == {"answer", "score"} and isinstance(data["answer"], str), data
    assert isinstance(data["score"], int) and not isinstance(data["score"], bool), data
    assert response.parsed == data, response.parsed


@check("inline_image")
def _():
    response = client.models.generate_content(model=MODEL, contents=[
        types.Part.from_bytes(data=base64.b64decode(PNG), mime_type="image/png"), "What is in this image?"])
    assert response.text and "I see 1 image(s)" in response.text, response.text


@check("max_output_tokens")
def _():
    response = client.models.generate_content(model=MODEL, contents="Hello there",
                                              config=types.GenerateContentConfig(max_output_tokens=3))
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS, response.candidates


def raw_post(body, api_key="mock-key"):
    """POSTs outside the SDK (for what the SDK refuses to send); returns (HTTP status, parsed error envelope)."""
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        headers["x-goog-api-key"] = api_key
    request = urllib.request.Request(f"{MOCK_URL.rstrip('/')}/v1beta/models/{MODEL}:generateContent",
                                     data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@check("rejects_what_gemini_rejects")
def _():
    # The SDK refuses empty contents client-side (ValueError "contents are required."), so that case goes raw.
    status, envelope = raw_post({"contents": []})
    assert status == 400 and envelope["error"]["status"] == "INVALID_ARGUMENT", (status, envelope)
    error = expect(errors.ClientError, client.models.generate_content, model=MODEL,
                   contents=[types.Content(role="assistant", parts=[types.Part.from_text(text="x")])])
    assert error.code == 400 and error.status == "INVALID_ARGUMENT" and "role" in (error.message or ""), error
    one_call = types.Content(role="model", parts=[types.Part.from_function_call(name="get_weather", args={"city": "Paris"})])
    two_results = user(*[types.Part.from_function_response(name="get_weather", response={"result": r}) for r in ("1", "2")])
    error = expect(errors.ClientError, client.models.generate_content, model=MODEL,
                   contents=[user("Weather?"), one_call, two_results], config=TOOLS)
    assert error.code == 400 and "function response parts" in (error.message or ""), error


@check("error_classes")
def _():
    error = expect(errors.ClientError, client.models.generate_content, model=MODEL, contents="x [[mock status=429]]")
    assert error.code == 429 and error.status == "RESOURCE_EXHAUSTED", error
    error = expect(errors.ServerError, client.models.generate_content, model=MODEL, contents="x [[mock status=503]]")
    assert error.code == 503 and error.status == "UNAVAILABLE", error
    received = []
    try:
        for chunk in client.models.generate_content_stream(model=MODEL, contents="Stream a while [[mock error_after=2]]"):
            received.append(chunk)
    except errors.ServerError as error:  # the SDK raises an in-stream {"error": …} event by its error.code
        assert error.code == 503 and received, (error, received)
    else:
        raise AssertionError("expected ServerError while iterating the stream")
    if os.environ.get("GATEROUTER_MOCK_REQUIRES_KEY") == "1":
        bad = make_client("wrong")  # keep a reference: a garbage-collected Client closes its HTTP client
        error = expect(errors.ClientError, bad.models.generate_content, model=MODEL, contents="x")
        assert error.code == 400 and "API key not valid" in (error.message or ""), error
        status, envelope = raw_post({"contents": [{"role": "user", "parts": [{"text": "x"}]}]}, api_key=None)
        assert status == 403 and envelope["error"]["status"] == "PERMISSION_DENIED", (status, envelope)


report_and_exit(f"google-genai {genai.__version__}")
