"""Tool calls and results of map_fns, rendered by ``xtuner_like.templates.tools``.

Tool text has one home, ``templates/tools.py``, because the exported chat_template must
render the same text; this module adds what only the map_fns need: reading a ShareGPT
``function_call`` value and the several shapes data tools give a call.
"""
from __future__ import annotations

from typing import Any

from ...errors import DatasetFormatError
from ...templates.tools import (normalize_tools, parse_json, tool_call_text,  # noqa: F401
                                tool_response_text)


def call_text(call: Any, where: str) -> str:
    """One call given as OpenAI ``{'function': {'name', 'arguments'}}``, a flat
    ``{'name', 'arguments'}`` or Anthropic's ``{'name', 'input'}``."""
    fn = call.get('function', call) if isinstance(call, dict) else None
    if not isinstance(fn, dict):
        raise DatasetFormatError(f"{where}: a tool call must be a dict with 'function': "
                                 f"{{'name', 'arguments'}}, got {call!r:.80}")
    arguments = fn['arguments'] if 'arguments' in fn else fn.get('input', {})
    return tool_call_text(fn.get('name'), arguments)


def raw_tool_call_text(value: Any) -> str:
    """A call given as JSON text or a dict ``{"name", "arguments"}`` (ShareGPT function_call)."""
    call = parse_json(value, 'function_call')
    calls = call if isinstance(call, list) else [call]
    parts = []
    for c in calls:
        if not isinstance(c, dict) or 'name' not in c:
            raise DatasetFormatError(f"a function_call must be {{'name', 'arguments'}}, got "
                                     f'{str(value)[:80]!r}')
        parts.append(tool_call_text(c['name'], c.get('arguments', {})))
    return '\n'.join(parts)
