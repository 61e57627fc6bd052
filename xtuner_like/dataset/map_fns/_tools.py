"""Tool calls and results of map_fns, kept as data for the template to write.

A reply's calls become ``turn['tool_calls']`` (``{'name', 'arguments', 'id'}``) and the tool
messages that answer them the next turn's ``'tool_results'`` (``{'content', 'call_id',
'name'}``); the template's tool style (``templates/tools.py``) writes both, in training and in
the exported chat_template alike. This module reads the shapes data tools give a call and
links each result to its call: by ``tool_call_id`` when the data has one, else by order.
A call without an id gets one derived from its message's content and its number in the row
(9 alphanumeric characters, as Mistral requires): the same row always trains the same text,
and rows that share their first messages (a preference pair's prompt) share those ids.
"""
from __future__ import annotations

from typing import Any

from ...errors import DatasetFormatError
from ...templates.tools import derive_call_id, normalize_tools, parse_json, row_seed  # noqa: F401


def read_call(call: Any, where: str) -> dict:
    """One call given as OpenAI ``{'function': {'name', 'arguments'}, 'id'?}``, a flat
    ``{'name', 'arguments'}`` or Anthropic's ``{'name', 'input'}`` -> ``{'name', 'arguments'
    [, 'id']}``. String arguments must be JSON; they are kept as written."""
    fn = call.get('function', call) if isinstance(call, dict) else None
    if not isinstance(fn, dict):
        raise DatasetFormatError(f"{where}: a tool call must be a dict with 'function': "
                                 f"{{'name', 'arguments'}}, got {call!r:.80}")
    name = fn.get('name')
    if not isinstance(name, str) or not name:
        raise DatasetFormatError(f'{where}: a tool call needs a function name, got {name!r}')
    arguments = fn['arguments'] if 'arguments' in fn else fn.get('input', {})
    if isinstance(arguments, str):
        parse_json(arguments, f'{where}: arguments of tool call {name!r}')
    out = {'name': name, 'arguments': arguments}
    if call.get('id') is not None:
        out['id'] = str(call['id'])
    return out


def raw_calls(value: Any, where: str) -> list[dict]:
    """Calls given as JSON text or a dict ``{"name", "arguments"}`` (ShareGPT function_call),
    or a list of them."""
    call = parse_json(value, 'function_call')
    calls = call if isinstance(call, list) else [call]
    for c in calls:
        if not isinstance(c, dict) or 'name' not in c:
            raise DatasetFormatError(f"{where}: a function_call must be {{'name', 'arguments'}}, "
                                     f'got {str(value)[:80]!r}')
    return [read_call(c, where) for c in calls]


def input_of(pending: list, role: str | None) -> dict:
    """A turn's input: the user's text, or the tool results (and an empty ``'input'``)."""
    return {'input': '', 'tool_results': pending} if role in ('tool', 'observation') else {
        'input': pending[0]}


class CallLinks:
    """A row's calls get ids, and its tool results the id of the call they answer."""

    def __init__(self):
        self._count = 0
        self._open: list[dict] | None = None      # None: the last reply's calls were text

    def calls(self, calls: list[dict], message: Any) -> list[dict]:
        """The calls of reply ``message``, each with an id (the data's, else a derived one)."""
        seed = None
        for call in calls:
            if 'id' not in call:
                seed = seed or row_seed(message)
                call['id'] = derive_call_id(seed, self._count)
            self._count += 1
        self._open = list(calls) if calls else None
        return calls

    def result(self, content: Any, where: str, call_id: Any = None, name: Any = None) -> dict:
        """``{'content', 'call_id', 'name'}`` of one tool result (keys known only are kept)."""
        out = {'content': content}
        if self._open is None:                    # calls in the reply's text: nothing to link
            match = {'id': call_id, 'name': name}
        elif call_id is not None:
            match = next((c for c in self._open if c['id'] == str(call_id)), None)
            if match is None:
                raise DatasetFormatError(
                    f'{where}: tool_call_id {call_id!r} answers no open call of the reply '
                    f'before it (open: {[c["id"] for c in self._open]}); fix the id')
        elif self._open:
            match = self._open[0]
        else:
            raise DatasetFormatError(f'{where}: this tool result answers no call (each call of '
                                     'the reply before it has its result already); drop it or '
                                     'add its call')
        if self._open:
            self._open.remove(match)
        for key, value in (('call_id', match['id']), ('name', name or match['name'])):
            if value is not None:
                out[key] = str(value)
        return out
