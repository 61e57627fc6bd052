"""`xtuner-like list-templates [-p PATTERN] [--show NAME]`: the prompt template names, or one
template's rendered two-turn example (system text, prompt, trained reply marked)."""
from __future__ import annotations

import argparse

EXAMPLE = [{'system': 'You are a helpful assistant.', 'input': 'Hi!', 'output': 'Hello!'},
           {'input': 'What is 2+2?', 'output': '4.'}]
EOS = '</s>'


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('list-templates', help='list prompt templates, or show one')
    p.add_argument('-p', '--pattern', help='substring or glob to filter names')
    p.add_argument('--show', metavar='NAME',
                   help='print the two-turn example NAME renders, trained text in [[...]]')
    p.set_defaults(run=run)


def matching(pattern: str | None) -> list[str]:
    """Template names matching a substring or glob ``pattern`` (as list-cfg matches recipes)."""
    from ..config.recipes import filter_names
    from ..templates import TEMPLATES
    return filter_names(TEMPLATES, pattern)


def show(name: str) -> str:
    """The example conversation as ``name`` renders it; trained text in ``[[...]]``."""
    from ..templates import get_template, render_conversation
    template = get_template(name)
    segments = render_conversation(EXAMPLE, template, eos_token=EOS)
    text = ''.join(f'[[{t}]]' if trained else t for t, trained in segments)
    notes = [f'# {name}: two turns with a system text (eos shown as {EOS}); '
             'trained text in [[...]]']
    if template.default_system:
        notes.append(f'# default system text: {template.default_system!r}')
    if template.thinking:
        notes.append(f'# thinking: {template.thinking!r} (<think> reasoning is trained)')
    if template.stop_words:
        notes.append(f'# stop words: {", ".join(template.stop_words)}')
    return '\n'.join(notes) + '\n' + text


def run(args: argparse.Namespace) -> int:
    if args.show:
        print(show(args.show))
        return 0
    names = matching(args.pattern)
    print('\n'.join(names) if names else f'no prompt template matches {args.pattern!r}')
    return 0 if names else 1
