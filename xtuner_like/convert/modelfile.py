"""An Ollama ``Modelfile`` for an exported GGUF file: its chat template as a Go template.

The Jinja chat_template in the GGUF metadata is rendered on marker strings; the text
around the markers gives the pieces of a turn (the prefix of a user turn, what follows
it up to the reply, what ends a reply ...). Those pieces become Ollama's Go template, and
:func:`render_pieces` replays that template in Python, so a test can check that it gives
the same text as the Jinja template for every built-in prompt template.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from ..utils.logging import log

_SYS, _U1, _A1, _U2 = '@@SYSTEM@@', '@@USER1@@', '@@ANSWER1@@', '@@USER2@@'


@dataclass(frozen=True)
class ChatPieces:
    """A chat template cut into the literal text around each message."""

    prefix: str  # once at the start when there is no system message
    system_pre: str | None  # system block before/after its text (None: no system support)
    system_post: str
    user_pre: str
    user_post: str  # after the last user text: the generation prompt
    reply_pre: str  # after an earlier user text, up to its reply (a space, a closed <think>)
    reply_post: str  # after a reply (its end-of-turn token and separator)


def _render(template: str, messages: list[dict], bos: str, eos: str) -> str:
    from transformers.utils.chat_template_utils import render_jinja_template
    rendered, _ = render_jinja_template([messages], chat_template=template,
                                        add_generation_prompt=True, bos_token=bos,
                                        eos_token=eos)
    return rendered[0]


def _reply_end_cuts(between: str, first_prefix: str, eos: str):
    """Ways to cut the text between a reply and the next user text into (reply end, user
    prefix), the likeliest first."""
    cuts = []
    if eos and eos in between:  # a reply ends with its end-of-turn token and the whitespace
        end = between.index(eos) + len(eos)
        end += len(between[end:]) - len(between[end:].lstrip())
        cuts.append(end)
    cuts += range(len(between) + 1)  # else: the longest user prefix both places share
    for cut in cuts:
        user_pre = between[cut:]
        if first_prefix.endswith(user_pre):
            yield between[:cut], user_pre


def chat_pieces(template: str, bos: str = '', eos: str = '') -> ChatPieces | None:
    """The pieces of ``template``, or None when it does not decompose turn by turn.

    Of the cuts that replay a two-turn probe, the first that also replays it after a system
    message wins (DeepSeek-Coder's system text runs straight into "### Instruction:", so the
    newline before it belongs to the reply's end, not to the user prefix); else the first.
    """
    probe = [{'role': 'user', 'content': _U1}, {'role': 'assistant', 'content': _A1},
             {'role': 'user', 'content': _U2}]
    try:
        one = _render(template, probe[:1], bos, eos)
        two = _render(template, probe, bos, eos)
    except Exception:  # noqa: BLE001 - a template that needs other inputs: no pieces
        return None
    if one.count(_U1) != 1 or _A1 not in two or _U2 not in two:
        return None
    first_prefix, user_post = one.split(_U1)
    reply_pre = two[two.index(_U1) + len(_U1):two.index(_A1)]
    between = two[two.index(_A1) + len(_A1):two.index(_U2)]
    fallback = None
    for reply_post, user_pre in _reply_end_cuts(between, first_prefix, eos):
        prefix = first_prefix[:len(first_prefix) - len(user_pre)]
        system_pre, system_post = _system_pieces(template, bos, eos, user_pre)
        pieces = ChatPieces(prefix, system_pre, system_post, user_pre, user_post, reply_pre,
                            reply_post)
        if render_pieces(pieces, probe) != two:
            continue
        if system_pre is not None:
            with_system = [{'role': 'system', 'content': _SYS}, *probe]
            if render_pieces(pieces, with_system) == _render(template, with_system, bos, eos):
                return pieces
        fallback = fallback or pieces
    return fallback


def _system_pieces(template: str, bos: str, eos: str, user_pre: str) -> tuple[str | None, str]:
    try:
        text = _render(template, [{'role': 'system', 'content': _SYS},
                                  {'role': 'user', 'content': _U1}], bos, eos)
    except Exception:  # noqa: BLE001 - a template without system support
        return None, ''
    head = text.split(_U1)[0]
    if text.count(_SYS) != 1 or not head.endswith(user_pre) or _SYS not in head:
        return None, ''
    before, after = head[:len(head) - len(user_pre)].split(_SYS)
    return before, after


def render_pieces(pieces: ChatPieces, messages: Sequence[Mapping[str, str]]) -> str:
    """What the Go template of :func:`go_template` renders (Python replay, for tests)."""
    out = '' if messages and messages[0]['role'] == 'system' else pieces.prefix
    for i, m in enumerate(messages):
        if m['role'] == 'system' and pieces.system_pre is not None:
            out += pieces.system_pre + m['content'] + pieces.system_post
        elif m['role'] == 'user':
            last = i == len(messages) - 1
            out += pieces.user_pre + m['content'] + (
                pieces.user_post if last else pieces.reply_pre)
        elif m['role'] == 'assistant':
            out += m['content'] + pieces.reply_post
    return out


def go_template(pieces: ChatPieces) -> str:
    """Ollama's TEMPLATE: one line of actions, so no Go whitespace trimming touches the text.

    A template whose generation prompt differs from what precedes a reply in the history
    (DeepSeek-R1 opens ``<think>``; Llama-2 puts a space before the reply) tells the last
    message apart, as Ollama's own templates do.
    """
    system = ('{{ if eq .Role "system" }}' + pieces.system_pre + '{{ .Content }}'
              + pieces.system_post + '{{ else ' if pieces.system_pre is not None else '{{ ')
    if pieces.reply_pre == pieces.user_post:
        messages, after_user = '{{ range .Messages }}', pieces.user_post
    else:
        messages = ('{{ range $i, $_ := .Messages }}'
                    '{{ $last := eq (len (slice $.Messages $i)) 1 }}')
        after_user = ('{{ if $last }}' + pieces.user_post + '{{ else }}' + pieces.reply_pre
                      + '{{ end }}')
    return ('{{ if not .System }}' + pieces.prefix + '{{ end }}' + messages + system
            + 'if eq .Role "user" }}' + pieces.user_pre + '{{ .Content }}' + after_user
            + '{{ else if eq .Role "assistant" }}{{ .Content }}' + pieces.reply_post
            + '{{ end }}{{ end }}')


def _quote(text: str) -> str:
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'


def write_modelfile(gguf_file: str | os.PathLike) -> Path:
    """Write ``Modelfile`` beside ``gguf_file``: FROM, TEMPLATE and stop tokens."""
    from ..model.gguf.read import gguf_fields
    path = Path(gguf_file).resolve()
    fields = gguf_fields(path, ('tokenizer.ggml.tokens', 'tokenizer.ggml.eos_token_id',
                                'tokenizer.ggml.bos_token_id', 'tokenizer.chat_template'))
    tokens = fields.get('tokenizer.ggml.tokens') or []
    eos_id = fields.get('tokenizer.ggml.eos_token_id')
    bos_id = fields.get('tokenizer.ggml.bos_token_id')
    eos = tokens[eos_id] if eos_id is not None else ''
    bos = tokens[bos_id] if bos_id is not None else ''
    template = fields.get('tokenizer.chat_template')
    pieces = chat_pieces(template, bos, eos) if template else None
    lines = [f'FROM ./{path.name}']
    if pieces is None:
        log(f'{path.name}: its chat template does not split into turns; the Modelfile has no '
            'TEMPLATE, so Ollama falls back to the template stored in the GGUF file')
    else:
        lines.append(f'TEMPLATE """{go_template(pieces)}"""')
    stops = [eos] + ([pieces.reply_post.strip()] if pieces else [])
    lines += [f'PARAMETER stop {_quote(s)}' for s in dict.fromkeys(stops) if s]
    out = path.parent / 'Modelfile'
    out.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    return out
