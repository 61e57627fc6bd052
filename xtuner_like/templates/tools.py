"""Tool calls, tool results and tool lists as text: the Qwen2.5 / Qwen3 (Hermes-style) format.

One rendering for every template, written both here (training) and in the exported Jinja
chat_template (serving, see ``jinja.py``), so a served tool-calling model sees the text it was
trained on. The strings follow Qwen2.5's and Qwen3's official chat templates:

- the available tools, appended to the system text (after a blank line)::

      # Tools

      You may call one or more functions to assist with the user query.

      You are provided with function signatures within <tools></tools> XML tags:
      <tools>
      {"type": "function", "function": {"name": "get_weather", ...}}
      </tools>

      For each function call, return a json object with function name and arguments ...

- a call the model makes (trained): ``<tool_call>\\n{"name": ..., "arguments": ...}\\n</tool_call>``
- a tool's result, the input of the next turn: ``<tool_response>\\n...\\n</tool_response>``
"""
from __future__ import annotations

import json
from typing import Any

from ..errors import DatasetFormatError

TOOLS_HEADER = ('# Tools\n\nYou may call one or more functions to assist with the user query.'
                '\n\nYou are provided with function signatures within <tools></tools> XML '
                'tags:\n<tools>')
TOOLS_FOOTER = ('\n</tools>\n\nFor each function call, return a json object with function name '
                'and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n'
                '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>')
RESPONSE_OPEN, RESPONSE_CLOSE = '<tool_response>\n', '\n</tool_response>'


def to_json(value: Any) -> str:
    """JSON as transformers' chat-template ``tojson`` filter writes it."""
    return json.dumps(value, ensure_ascii=False)


def parse_json(value: Any, what: str) -> Any:
    """``value`` parsed when it is a string, else itself; bad JSON is a DatasetFormatError."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(f'{what} is not valid JSON ({exc.msg} at char {exc.pos}): '
                                 f'{value[:80]!r}; write it as a JSON string or object') from None


def tool_call_text(name: Any, arguments: Any) -> str:
    """One call; string arguments must be JSON and are kept as written (as the template does)."""
    if not isinstance(name, str) or not name:
        raise DatasetFormatError(f'a tool call needs a function name, got {name!r}')
    if isinstance(arguments, str):
        parse_json(arguments, f'arguments of tool call {name!r}')
        args = arguments
    else:
        args = to_json(arguments)
    return f'<tool_call>\n{{"name": {to_json(name)}, "arguments": {args}}}\n</tool_call>'


def tool_response_text(content: Any) -> str:
    """A tool's result wrapped in ``<tool_response>`` tags (the next turn's input)."""
    text = content if isinstance(content, str) else to_json(content)
    return f'{RESPONSE_OPEN}{text}{RESPONSE_CLOSE}'


def is_tool_response(text: str) -> bool:
    """Whether a turn's input is only tool results (not a user query; Qwen3's own test)."""
    return text.startswith(RESPONSE_OPEN.strip()) and text.endswith(RESPONSE_CLOSE.strip())


def tool_calls_in(text: str) -> list[dict]:
    """The ``{'name', 'arguments'}`` calls a reply makes (``<tool_call>`` blocks that hold
    JSON; a block that does not is skipped, as a server's parser would)."""
    calls = []
    for block in text.split('<tool_call>')[1:]:
        body = block.split('</tool_call>')[0].strip()
        try:
            call = json.loads(body)
        except json.JSONDecodeError:
            continue
        if isinstance(call, dict) and isinstance(call.get('name'), str):
            calls.append({'name': call['name'], 'arguments': call.get('arguments', {})})
    return calls


def normalize_tools(tools: Any) -> list | None:
    """A row's ``tools`` (a list or its JSON text) as a list; None when there are none."""
    tools = parse_json(tools, "'tools'") if tools else None
    if not tools:
        return None
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise DatasetFormatError("'tools' must be a list of function schemas (JSON objects), "
                                 f'got {str(tools)[:80]!r}')
    return tools


def tools_system_text(tools: list | None, system: str | None) -> str | None:
    """``system`` followed by the tools block (each schema as given, as Qwen's templates do)."""
    if not tools:
        return system
    block = TOOLS_HEADER + ''.join('\n' + to_json(t) for t in tools) + TOOLS_FOOTER
    return f'{system}\n\n{block}' if system else block
