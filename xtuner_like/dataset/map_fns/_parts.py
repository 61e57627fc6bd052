"""Message content given as a string or a list of typed parts (OpenAI multi-part and kin).

Text parts (a plain string, ``{'type': 'text' | 'input_text' | 'output_text', 'text'}``) are
joined with a newline, as vLLM and the OpenAI server join them for a text-only model (and as
the exported chat_template does); reasoning parts (``'reasoning' | 'thinking'``) become the
turn's reasoning; tool-call parts (``'tool_call' | 'function_call' | 'tool_use'``) become tool
calls (``{'name', 'arguments'[, 'id']}``). A part may keep its text under ``'value'`` (newer
LLaMA-Factory files: ``{'type': 'text', 'value': ...}``, a tool call's ``value`` the call as
JSON text), and a ``'tools'`` part (its value the tool list, as JSON text or a list) offers
tools. Any other part type is an error that names it: nothing is dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import DatasetFormatError
from ._tools import normalize_tools, parse_json, read_call

TEXT_TYPES = ('text', 'input_text', 'output_text')
REASONING_TYPES = ('reasoning', 'thinking')
CALL_TYPES = ('tool_call', 'function_call', 'tool_use')
TOOLS_TYPES = ('tools',)
REASONING_KEYS = ('reasoning_content', 'reasoning', 'thinking')


@dataclass
class Content:
    """What one message says: text, reasoning and tool calls."""

    text: str = ''
    reasoning: list[str] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    tools: list[dict] = field(default_factory=list)


def read_content(content: Any, where: str, assistant: bool = False) -> Content:
    """Read a message's ``content``: a string, or a non-empty list of parts.

    Args:
        content: The message's content value.
        where: 'message N (role)' for error messages.
        assistant: Whether reasoning and tool-call parts are allowed (assistant messages).
    """
    if isinstance(content, str):
        return Content(text=content)
    if not isinstance(content, list):
        raise DatasetFormatError(f'{where} has no text content (content is '
                                 f'{type(content).__name__}); give "content" as a string or a '
                                 'list of {"type": "text", "text": ...} parts')
    if not content:
        raise DatasetFormatError(f'{where}: content is an empty list; give the text, or drop '
                                 'the message')
    out, texts = Content(), []
    for k, part in enumerate(content):
        kind = 'text' if isinstance(part, str) else (
            part.get('type') if isinstance(part, dict) else type(part).__name__)
        if kind in TEXT_TYPES:
            texts.append(_part_text(part, k, where, 'text', 'value'))
        elif kind in REASONING_TYPES and assistant:
            out.reasoning.append(_part_text(part, k, where, 'text', 'value', kind, 'reasoning'))
        elif kind in CALL_TYPES and assistant:
            out.calls.append(read_call(_call_value(part, f'{where}, part {k}'),
                                       f'{where}, part {k}'))
        elif kind in TOOLS_TYPES and not assistant:
            out.tools += normalize_tools(part.get('value', part.get('tools'))) or []
        else:
            allowed = TEXT_TYPES + (REASONING_TYPES + CALL_TYPES if assistant else TOOLS_TYPES)
            raise DatasetFormatError(
                f'{where}, part {k}: content part type {kind!r} is not understood here (text-'
                f'only SFT reads {", ".join(allowed)}); drop or convert that part')
    out.text = '\n'.join(texts)
    return out


def message_reasoning(msg: dict, parts: list[str], where: str) -> str | None:
    """A message's reasoning: its ``reasoning_content`` (or alias) field or reasoning parts."""
    found = [msg[k] for k in REASONING_KEYS if msg.get(k) is not None]
    for value in found:
        if not isinstance(value, str):
            raise DatasetFormatError(f'{where}: reasoning must be a string, got '
                                     f'{type(value).__name__}')
    found += parts
    return '\n'.join(found) if found else None


def _call_value(part: dict, where: str) -> Any:
    """A call part as read_call reads it: its ``value`` (a call as JSON text or a dict, the
    newer LLaMA-Factory shape) when it has no name of its own, else the part itself."""
    if 'value' not in part or 'name' in part or 'function' in part:
        return part
    value = parse_json(part['value'], f'{where}: the tool call')
    if not isinstance(value, dict):
        raise DatasetFormatError(f"{where}: a tool call's value must be a JSON object "
                                 f'{{"name", "arguments"}}, got {str(part["value"])[:80]!r}')
    return {**value, **({'id': part['id']} if part.get('id') is not None else {})}


def _part_text(part: Any, k: int, where: str, *keys: str) -> str:
    if isinstance(part, str):
        return part
    for key in keys:
        if isinstance(part.get(key), str):
            return part[key]
    raise DatasetFormatError(f'{where}, part {k} ({part.get("type")!r}) has no text under '
                             f'{" / ".join(repr(k) for k in dict.fromkeys(keys))}')


def is_text_parts(content: Any) -> bool:
    """Whether ``content`` is a non-empty list of text parts only (a tool result written as
    parts, whose text is the result; any other list is structured data, kept as is)."""
    return isinstance(content, list) and bool(content) and all(
        isinstance(p, dict) and p.get('type') in TEXT_TYPES for p in content)


def message_trained(msg: dict, where: str, reply: bool) -> bool:
    """Whether a message is trained, from its ``loss_weight`` (0 no, 1 yes; LLaMA-Factory's
    per-message weight): a reply is trained unless its weight is 0; any other message is
    never trained, so a weight above 0 there is an error, as is a weight between 0 and 1
    (the loss has no per-token weights)."""
    weight = msg.get('loss_weight')
    if weight is None:
        return reply
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight not in (0, 1):
        raise DatasetFormatError(f'{where}: loss_weight {weight!r} is not supported; give 0.0 '
                                 '(not trained) or 1.0 (trained)')
    if weight and not reply:
        raise DatasetFormatError(f'{where}: loss_weight {weight!r} on a message the model does '
                                 'not write; only assistant replies are trained: set it to 0.0 '
                                 'or drop it')
    return bool(weight)
