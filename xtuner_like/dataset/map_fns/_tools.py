"""How tool calls, tool results and tool lists become plain text (shared by several map_fns).

One documented rendering, the one Qwen2.5 / Hermes-style chat templates use, so a model
trained on it can be served with those templates:

- a call the model makes (trained)::

      <tool_call>
      {"name": "get_weather", "arguments": {"city": "Paris"}}
      </tool_call>

- a tool's result, the input of the next turn (not trained)::

      <tool_response>
      {"temperature": 21}
      </tool_response>

- the available tools, appended to the system text::

      # Tools
      You may call one or more functions to assist with the user query.
      <tools>
      {"name": "get_weather", ...}
      </tools>
      For each function call, return a JSON object inside <tool_call></tool_call> tags.
"""
from __future__ import annotations

import json
from typing import Any

from ...errors import DatasetFormatError

TOOLS_HEADER = '# Tools\nYou may call one or more functions to assist with the user query.'
TOOLS_FOOTER = 'For each function call, return a JSON object inside <tool_call></tool_call> tags.'


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _loads(value: Any, what: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(f'{what} is not valid JSON ({exc.msg} at char {exc.pos}): '
                                 f'{value[:80]!r}; write it as a JSON string or object') from None


def tool_call_text(name: str, arguments: Any) -> str:
    """One call as ``<tool_call>{"name", "arguments"}</tool_call>``; string arguments are parsed."""
    if not isinstance(name, str) or not name:
        raise DatasetFormatError(f'a tool call needs a function name, got {name!r}')
    arguments = _loads(arguments, f'arguments of tool call {name!r}')
    return f'<tool_call>\n{_json({"name": name, "arguments": arguments})}\n</tool_call>'


def raw_tool_call_text(value: Any) -> str:
    """A call given as JSON text or a dict ``{"name", "arguments"}`` (ShareGPT function_call)."""
    call = _loads(value, 'function_call')
    calls = call if isinstance(call, list) else [call]
    parts = []
    for c in calls:
        if not isinstance(c, dict) or 'name' not in c:
            raise DatasetFormatError(f"a function_call must be {{'name', 'arguments'}}, got "
                                     f'{str(value)[:80]!r}')
        parts.append(tool_call_text(c['name'], c.get('arguments', {})))
    return '\n'.join(parts)


def tool_response_text(content: Any) -> str:
    """A tool's result wrapped in ``<tool_response>`` tags (the next turn's input)."""
    text = content if isinstance(content, str) else _json(content)
    return f'<tool_response>\n{text}\n</tool_response>'


def tools_system_text(tools: Any, system: str | None = None) -> str | None:
    """``system`` followed by the ``# Tools`` block; None/empty tools leave it unchanged."""
    tools = _loads(tools, "'tools'") if tools else None
    if not tools:
        return system
    if not isinstance(tools, list):
        raise DatasetFormatError(f"'tools' must be a list of function schemas, got "
                                 f'{type(tools).__name__}')
    lines = '\n'.join(_json(t.get('function', t) if isinstance(t, dict) else t) for t in tools)
    block = f'{TOOLS_HEADER}\n<tools>\n{lines}\n</tools>\n{TOOLS_FOOTER}'
    return f'{system}\n\n{block}' if system else block
