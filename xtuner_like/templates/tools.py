"""Tools, tool calls and tool results as text, in each family's own tool style.

A conversation keeps a reply's calls (``turn['tool_calls']``) and the results that answer
them (the next ``turn['tool_results']``) as data; the template's ``tool_style`` (a name in
:data:`TOOL_STYLES`) writes them, here for training and in the exported Jinja chat_template
(``chat_template.jinja``, with the constants below) for serving, so a served tool-calling
model sees the text it was trained on. Styles:

- ``hermes`` (Qwen2.5 / Qwen3, and every template without a style of its own): the tools
  after the system text::

      # Tools

      You may call one or more functions to assist with the user query.

      You are provided with function signatures within <tools></tools> XML tags:
      <tools>
      {"type": "function", "function": {"name": "get_weather", ...}}
      </tools>

      For each function call, return a json object with function name and arguments ...

  a call ``<tool_call>\\n{"name": ..., "arguments": ...}\\n</tool_call>`` after the reply's
  text, results ``<tool_response>\\n...\\n</tool_response>`` as the next user turn;
- ``llama3_1`` (Llama-3.1): ``Environment: ipython`` in the system block, the tools as JSON
  (indent 4) after a preamble in the first user turn, a reply of one bare
  ``{"name": ..., "parameters": ...}`` call, each result an ``ipython`` turn (as JSON);
- ``mistral`` (Mistral v0.3): ``[AVAILABLE_TOOLS] [...][/AVAILABLE_TOOLS]`` before the last
  user turn, ``[TOOL_CALLS] [{"name", "arguments", "id"}]`` and
  ``[TOOL_RESULTS] {"content": ..., "call_id": ...}[/TOOL_RESULTS]`` with 9-character ids.

Where the official format has no place for something it is an error, never dropped: text
beside a Llama-3.1 or Mistral call, several calls in one Llama-3.1 reply. Deliberate
differences from the official templates: string arguments are written as given (they must
be JSON) where the official ones would quote them, and Mistral writes a non-string result as
JSON (its template writes Python's repr); in training only, a Mistral call id that is not 9
alphanumeric characters is replaced by one derived from it (a served one must have 9).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
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
    return (f'<tool_call>\n{{"name": {to_json(name)}, "arguments": {_args_text(arguments)}}}'
            '\n</tool_call>')


def tool_response_text(content: Any) -> str:
    """A tool's result wrapped in ``<tool_response>`` tags (the next turn's input)."""
    return f'{RESPONSE_OPEN}{_result_text(content)}{RESPONSE_CLOSE}'


def is_tool_response(text: str) -> bool:
    """Whether a turn's input is only tool results (not a user query; Qwen3's own test)."""
    return text.startswith(RESPONSE_OPEN.strip()) and text.endswith(RESPONSE_CLOSE.strip())


def tool_calls_in(text: str) -> list[dict]:
    """The ``{'name', 'arguments'[, 'id']}`` calls a reply makes, in whichever style wrote
    them: Hermes ``<tool_call>`` blocks that hold JSON (a block that does not is skipped, as
    a server's parser would), Mistral's ``[TOOL_CALLS] [...]`` list, or Llama-3.1's bare
    ``{"name", "parameters"}`` reply. Text in none of these shapes makes no call."""
    stripped = text.strip()
    if stripped.startswith('[TOOL_CALLS]'):
        found = _json_or_none(stripped[len('[TOOL_CALLS]'):])
        return [_call(c, 'arguments') for c in found if _is_call(c)] if isinstance(
            found, list) else []
    if '<tool_call>' not in text:
        found = _json_or_none(stripped)
        return [_call(found, 'parameters')] if _is_call(found) and 'parameters' in found else []
    blocks = (_json_or_none(b.split('</tool_call>')[0]) for b in text.split('<tool_call>')[1:])
    return [_call(c, 'arguments') for c in blocks if _is_call(c)]


def reply_fields(text: str, calls: list[dict] | None = None) -> dict:
    """A generated reply as a turn's reply fields: one that is only calls in a bare-call
    style (Mistral's ``[TOOL_CALLS]``, Llama-3.1's JSON) becomes ``tool_calls``, for the
    template to write as in training; any other reply (Hermes blocks among text) stays text.
    ``calls``: the reply's ``tool_calls_in``, when the caller has them already."""
    if '<tool_call>' in text:
        return {'output': text}
    calls = tool_calls_in(text) if calls is None else calls
    return {'output': '', 'tool_calls': calls} if calls else {'output': text}


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _is_call(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get('name'), str)


def _call(value: dict, arguments_key: str) -> dict:
    call = {'name': value['name'], 'arguments': value.get(arguments_key, {})}
    return {**call, 'id': value['id']} if isinstance(value.get('id'), str) else call


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
    block = tools_block(TOOL_STYLES['hermes'], tools)
    return f'{system}\n\n{block}' if system else block


# --- Tool styles: how a template writes tools, calls and results ------------------------------
# A conversation keeps calls (``turn['tool_calls']``: ``{'name', 'arguments', 'id'}``) and
# results (``turn['tool_results']``: ``{'content', 'call_id', 'name'}``) as data; the template's
# ``tool_style`` (a name in TOOL_STYLES) writes them. The exported chat_template
# (chat_template.jinja) writes each style too, with the constants below.

LLAMA_ENV = 'Environment: ipython\n'
LLAMA_PREAMBLE = ('Given the following functions, please respond with a JSON for a function '
                  'call with its proper arguments that best answers the given prompt.\n\n'
                  'Respond in the format {"name": function name, "parameters": dictionary of '
                  'argument name and its value}.Do not use variables.\n\n')
LLAMA_RESULT_OPEN = '<|start_header_id|>ipython<|end_header_id|>\n\n'
LLAMA_RESULT_CLOSE = '<|eot_id|>'
LLAMA_REPLY_HEADER = '<|start_header_id|>assistant<|end_header_id|>\n\n'


@dataclass(frozen=True)
class ToolStyle:
    """Where a family's template puts the tools, and how it writes calls and results.

    Attributes:
        name: Key in TOOL_STYLES.
        tools_at: ``'system'`` (after the system text), ``'first_input'`` (before the first
            user text) or ``'last_query'`` (before the last user turn's instruction).
        env: Text for the template's ``{tool_env}`` when tools are given (Llama-3.1).
        bare_calls: A reply with calls holds only them: text beside a call is an error and
            the template's ``reply_prefix`` is not written before them.
        own_results_turn: A results turn is written whole by the style (its own role
            header), not inside the template's instruction.
        call_ids: A result names the id of the call it answers (Mistral), so a result
            without a call to answer cannot be written.
    """

    name: str
    tools_at: str
    env: str = ''
    bare_calls: bool = False
    own_results_turn: bool = False
    call_ids: bool = False


TOOL_STYLES = {
    # Qwen2.5 / Qwen3 (Hermes): <tool_call> / <tool_response> blocks; every other template.
    'hermes': ToolStyle('hermes', tools_at='system'),
    # Llama-3.1: tools (JSON, indent 4) open the first user turn; one bare
    # {"name", "parameters"} call per reply; each result an `ipython` turn, written as JSON.
    'llama3_1': ToolStyle('llama3_1', tools_at='first_input', env=LLAMA_ENV, bare_calls=True,
                          own_results_turn=True),
    # Mistral v0.3: [AVAILABLE_TOOLS] before the last user turn, [TOOL_CALLS] with
    # 9-character ids, [TOOL_RESULTS] naming the call id.
    'mistral': ToolStyle('mistral', tools_at='last_query', bare_calls=True,
                         own_results_turn=True, call_ids=True),
}
CALL_ID = re.compile(r'[A-Za-z0-9]{9}')


def derive_call_id(seed: str, index: int) -> str:
    """A deterministic 9-character alphanumeric call id (Mistral's rule) for call ``index``
    of the row whose content hashes to ``seed``: the same row trains the same text."""
    return hashlib.sha256(f'{seed}:{index}'.encode()).hexdigest()[:9]


def row_seed(value: Any) -> str:
    """A stable digest of a row's content, the seed of its derived call ids."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def mistral_call_id(call_id: Any, where: str) -> str:
    """The id Mistral writes: the data's when it is 9 alphanumeric characters, else one
    derived from it (so a call and its result still match); no id is an error."""
    if not isinstance(call_id, str) or not call_id:
        raise DatasetFormatError(f'{where}: Mistral tool calls and results need a call id; give '
                                 "'id' / 'tool_call_id' in the data (or none at all)")
    return call_id if CALL_ID.fullmatch(call_id) else derive_call_id(call_id, 0)


def _args_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else to_json(arguments)


def tools_block(style: ToolStyle, tools: list) -> str:
    """The available tools as the style writes them (see tools_at for where)."""
    if style.name == 'llama3_1':
        return LLAMA_PREAMBLE + ''.join(json.dumps(t, ensure_ascii=False, indent=4) + '\n\n'
                                        for t in tools)
    if style.name == 'mistral':
        return '[AVAILABLE_TOOLS] [' + ', '.join(map(_mistral_tool, tools)) + '][/AVAILABLE_TOOLS]'
    return TOOLS_HEADER + ''.join('\n' + to_json(t) for t in tools) + TOOLS_FOOTER


def _mistral_tool(tool: dict) -> str:
    fn = tool.get('function', tool)
    # As v0.3's template: string values raw, others as JSON; a 'return' key is left out.
    items = (f'"{k}": "{v}"' if isinstance(v, str) else f'"{k}": {to_json(v)}'
             for k, v in fn.items() if k != 'return')
    return '{"type": "function", "function": {' + ', '.join(items) + '}}'


def reply_text(style: ToolStyle, output: str, calls: list[dict], where: str) -> str:
    """A reply's text and its calls. Llama-3.1 allows one call per reply and no text beside
    it; a reply with several calls is a DatasetFormatError (its official template raises too),
    never split silently: split the data into one call per assistant message."""
    if not calls:
        return output
    if style.bare_calls and output.strip():
        raise DatasetFormatError(f'{where}: {style.name} tool calls cannot have text beside them '
                                 f'(its official template drops it): {output[:40]!r}; drop '
                                 'the text from that message')
    if style.name == 'llama3_1':
        if len(calls) != 1:
            raise DatasetFormatError(
                f'{where}: Llama-3.1 makes one tool call per assistant message, this one makes '
                f'{len(calls)}; split them into one message per call, each followed by its '
                'result')
        call = calls[0]
        return f'{{"name": "{call["name"]}", "parameters": {_args_text(call["arguments"])}}}'
    if style.name == 'mistral':
        return '[TOOL_CALLS] [' + ', '.join(
            f'{{"name": {to_json(c["name"])}, "arguments": {_args_text(c["arguments"])}, '
            f'"id": "{mistral_call_id(c.get("id"), where)}"}}' for c in calls) + ']'
    return '\n'.join(([output] if output else [])
                     + [tool_call_text(c['name'], c['arguments']) for c in calls])


def results_text(style: ToolStyle, results: list[dict], where: str) -> str:
    """A results turn: the input (Hermes) or the whole turn up to the reply (own_results_turn)."""
    if style.name == 'llama3_1':
        return ''.join(LLAMA_RESULT_OPEN + to_json(r['content']) + LLAMA_RESULT_CLOSE
                       for r in results) + LLAMA_REPLY_HEADER
    if style.name == 'mistral':
        return ''.join(f'[TOOL_RESULTS] {{"content": {_result_text(r["content"])}, "call_id": '
                       f'"{mistral_call_id(r.get("call_id"), where)}"}}[/TOOL_RESULTS]'
                       for r in results)
    return '\n'.join(tool_response_text(r['content']) for r in results)


def _result_text(content: Any) -> str:
    return content if isinstance(content, str) else to_json(content)


def turn_text(turn: dict) -> dict:
    """A turn's ``'input'`` and ``'output'`` as plain text, its tool results and calls written
    in the Hermes style: for code that reads a conversation as text (curation's filters)."""
    hermes, where = TOOL_STYLES['hermes'], 'conversation turn'
    results, calls = turn.get('tool_results'), turn.get('tool_calls')
    return {**turn, 'input': results_text(hermes, results, where) if results else turn.get('input'),
            'output': reply_text(hermes, turn.get('output') or '', calls, where) if calls
            else turn.get('output')}
