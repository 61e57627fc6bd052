"""`xtuner-like chat MODEL`: talk to a model, multi-turn; scriptable through stdin.

At a terminal: prompts are read interactively; ``RESET`` clears the history, ``EXIT`` quits.
Otherwise each line of stdin is one user turn of the same conversation; each answer is
printed on stdout (logs go to stderr) and the command exits at the end of input.

With ``--tools FILE.json`` (a list of function schemas, or ``{"tools": [...]}``) the model is
offered those tools as in training; each call in an answer is shown on its own line as
``[tool call] NAME {ARGUMENTS}``, and a line ``TOOL: RESULT`` gives the model a tool's result.
"""
from __future__ import annotations

import argparse
import sys
from typing import Iterator, TextIO

from ..errors import ConfigError

RESET, EXIT, TOOL = 'RESET', 'EXIT', 'TOOL:'


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('chat', help='chat with a model (multi-turn; RESET, EXIT)')
    p.add_argument('model', help='model folder, hub id, or the embedded model id')
    p.add_argument('--adapter', help='a PEFT adapter folder to apply (from pth_to_hf)')
    p.add_argument('--bits', type=int, choices=(4, 8), help='load the model in 4 or 8 bits')
    p.add_argument('--temperature', type=float, default=0.1, help='0 is greedy')
    p.add_argument('--top-k', type=int, default=40)
    p.add_argument('--top-p', type=float, default=0.75)
    p.add_argument('--repetition-penalty', type=float, default=1.0)
    p.add_argument('--max-new-tokens', type=int, default=512)
    p.add_argument('--no-streamer', dest='streamer', action='store_false',
                   help='print each answer when it is complete')
    system = p.add_mutually_exclusive_group()
    system.add_argument('--system', help='system text')
    system.add_argument('--system-template', help="system-template name, e.g. 'alpaca'")
    p.add_argument('--prompt-template', help="our template name (default: the model's own "
                   'chat_template)')
    p.add_argument('--stop-words', nargs='+', default=[], metavar='W',
                   help='extra texts that end an answer')
    p.add_argument('--seed', type=int, help='random seed for sampling')
    p.add_argument('--tools', metavar='FILE.json',
                   help='function schemas the model may call; calls are shown, and a line '
                   "'TOOL: result' answers one")
    p.set_defaults(run=run)


def _logs_to_stderr() -> None:
    """Keep stdout for answers: mmengine's logger writes to stdout by default."""
    import logging

    from mmengine.logging import MMLogger
    name = 'xtuner_like_chat'
    logger = (MMLogger.get_instance(name) if MMLogger.check_instance_created(name)
              else MMLogger.get_instance(name, log_level='WARNING'))
    # ... and the current logger, which log() writes to: when chat runs in a process that
    # already made one (a training run before it, in a notebook or a test), that one is still
    # current, and its console handler was bound to stdout when it was made.
    for each in (logger, MMLogger.get_current_instance()):
        for handler in each.handlers:
            if type(handler) is logging.StreamHandler and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)


def _prompts(stdin: TextIO, interactive: bool) -> Iterator[str]:
    while True:
        if interactive:
            try:
                line = input('\n>>> ')
            except EOFError:
                return
        else:
            line = stdin.readline()
            if not line:
                return
        line = line.strip()
        if line:
            yield line


def build_session(args: argparse.Namespace):
    """Load the model and make the ChatSession that ``args`` describe."""
    from ..chat import ChatSession, GenerationSettings
    from ..chat.load import load_chat_model
    from ..templates import SYSTEM_TEMPLATES
    from ..templates.chat_format import ChatFormat

    system = (SYSTEM_TEMPLATES.get(args.system_template) if args.system_template
              else args.system)
    chat_format = ChatFormat.build(args.prompt_template, system, args.stop_words)
    model, tokenizer = load_chat_model(args.model, args.adapter, args.bits)
    settings = GenerationSettings(
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
        top_p=args.top_p, repetition_penalty=args.repetition_penalty)
    return ChatSession(model, tokenizer, chat_format, settings,
                       tools=read_tools(args.tools) if getattr(args, 'tools', None) else None)


def read_tools(path: str) -> list:
    """The function schemas of a tools JSON file: a list, or an object with 'tools'."""
    import json
    from pathlib import Path

    from ..templates.tools import normalize_tools
    try:
        data = json.loads(Path(path).read_text(encoding='utf-8'))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f'--tools {path}: cannot read a JSON file ({exc})') from None
    tools = normalize_tools(data.get('tools') if isinstance(data, dict) else data)
    if not tools:
        raise ConfigError(f'--tools {path}: no function schemas (give a JSON list of them)')
    return tools


def show_tool_calls(reply: str) -> list[str]:
    """One '[tool call] NAME {ARGUMENTS}' line per call the reply makes."""
    import json

    from ..templates.tools import tool_calls_in
    return [f"[tool call] {c['name']} {json.dumps(c['arguments'], ensure_ascii=False)}"
            for c in tool_calls_in(reply)]


def run(args: argparse.Namespace) -> int:
    _logs_to_stderr()
    if args.seed is not None:
        from transformers import set_seed
        set_seed(args.seed)
    session = build_session(args)
    streamer = None
    if args.streamer:
        from ..chat import StopWordStreamer
        streamer = StopWordStreamer(session.tokenizer, session.stops)
    interactive = sys.stdin.isatty()
    if interactive:
        print(f'chatting with {args.model}; {RESET} clears the history, {EXIT} quits')
    for text in _prompts(sys.stdin, interactive):
        if text == EXIT:
            break
        if text == RESET:
            session.reset()
            if interactive:
                print('(history cleared)')
            continue
        is_result = session.tools is not None and text.startswith(TOOL)
        if is_result:
            text = text[len(TOOL):].strip()
        try:
            reply = session.ask(text, streamer, tool_result=is_result)
        except ConfigError as exc:   # this line cannot be answered; the session goes on
            print(f'error: {exc}', file=sys.stderr, flush=True)
            continue
        if streamer is None:
            print(reply, flush=True)
        if session.tools is not None:
            for line in show_tool_calls(reply):
                print(line, flush=True)
    return 0
