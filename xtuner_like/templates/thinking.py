"""Reasoning (``<think>…</think>``) in replies, as Qwen3's and DeepSeek-R1's templates write it.

A turn's reasoning comes from its ``'thinking'`` key or, as the official templates do, from a
``<think>…</think>`` block that opens its output. It is trained as part of the reply:

- ``thinking='reply'`` (Qwen3): the reply opens with ``<think>\\n{reasoning}\\n</think>\\n\\n``;
  the final turn always has the block (empty without reasoning);
- ``thinking='prompt'`` (DeepSeek-R1): the final turn's prompt ends with ``<think>\\n``, and
  its reply is ``{reasoning}\\n</think>\\n\\n{answer}``.

Replies before the last user query lose their reasoning, as both official templates drop it
from the history (``keep_thinking=True`` keeps it).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import DatasetFormatError
from .tools import is_tool_response

if TYPE_CHECKING:
    from .prompt import PromptTemplate

THINK_OPEN, THINK_CLOSE = '<think>\n', '\n</think>\n\n'


def split_thinking(turn: Mapping, template: 'PromptTemplate') -> tuple[str, str]:
    """``(answer, reasoning)`` of a turn; reasoning is '' when there is none."""
    output, thinking = turn['output'], turn.get('thinking')
    if not template.thinking:
        if thinking:
            raise DatasetFormatError(
                f'a turn has reasoning ({thinking[:40]!r}) but prompt template '
                f'{template.name!r} has no thinking format; pick a thinking template '
                "(qwen3_chat, deepseek_r1) or drop the reasoning")
        return output, ''
    if thinking is not None:
        if not isinstance(thinking, str):
            raise DatasetFormatError(f"a turn's 'thinking' must be a string, got "
                                     f'{type(thinking).__name__}')
        return output, thinking
    if '</think>' in output:  # the official templates' own split (Qwen3 strips newlines)
        head, _, _ = output.partition('</think>')
        answer = output.split('</think>')[-1]
        return (answer.lstrip('\n') if template.thinking == 'reply' else answer,
                head.rstrip('\n').split('<think>')[-1].lstrip('\n'))
    return output, ''


def reply_with_thinking(output: str, thinking: str, template: 'PromptTemplate', final: bool,
                        show: bool) -> str:
    """The reply text of one turn, with its reasoning where the template shows it."""
    if template.thinking == 'prompt' and final:
        return thinking.strip('\n') + THINK_CLOSE + output.lstrip('\n')
    if template.thinking and show and (thinking or (final and template.thinking == 'reply')):
        return THINK_OPEN + thinking.strip('\n') + THINK_CLOSE + output.lstrip('\n')
    return output


def last_query_turn(turns: Sequence[Mapping]) -> int:
    """Index of the last turn whose input is a user query, not only tool results."""
    for i in range(len(turns) - 1, -1, -1):
        if not (turns[i].get('tool_results') or is_tool_response(turns[i]['input'])):
            return i
    return 0
