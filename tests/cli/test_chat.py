"""`xtuner-like chat` scripted through stdin: answers, history, RESET, stop words, --bits 4."""
from __future__ import annotations

import io

import pytest
import torch

from xtuner_like.cli.main import main
from xtuner_like.templates.chat_format import ChatFormat


@pytest.fixture(scope='module')
def adapter(tmp_path_factory, tiny_model_dir):
    """An adapter folder exported from a tiny LoRA model (chat_template: ChatML)."""
    from xtuner_like.model.export import save_hf
    from xtuner_like.convert.pth_to_hf import build_for_export, load_run_config
    from xtuner_like.model import load_tokenizer
    cfg = load_run_config('smollm2_135m_instruct_lora_identity',
                          {'pretrained_model_name_or_path': str(tiny_model_dir)})
    torch.manual_seed(0)
    model = build_for_export(cfg)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.1)
    return save_hf(model, load_tokenizer(str(tiny_model_dir)),
                   tmp_path_factory.mktemp('chat') / 'hf', chat_format=ChatFormat.build('chatml'))


@pytest.fixture(scope='module')
def model_64(tmp_path_factory):
    """A tiny Llama with hidden size 64: bitsandbytes' 4-bit CPU kernel needs 64-wide blocks."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from conftest import make_tiny_tokenizer
    from xtuner_like.model.export import chat_tokenizer
    path = tmp_path_factory.mktemp('tiny64')
    tok = make_tiny_tokenizer()
    chat_tokenizer(tok, ChatFormat.build('chatml')).save_pretrained(path)
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=1,
        num_attention_heads=4, num_key_value_heads=2)).save_pretrained(path)
    return path


def chat(monkeypatch, capsys, args, stdin: str, stops=()) -> tuple[int, list[str], str]:
    """Run chat greedily; a random tiny model may say anything, so a newline ends an answer
    too, to keep one answer per output line."""
    monkeypatch.setattr('sys.stdin', io.StringIO(stdin))
    rc = main(['chat', *map(str, args), '--temperature', '0', '--max-new-tokens', '10',
               '--stop-words', '\n', *stops])
    captured = capsys.readouterr()
    return rc, captured.out.split('\n')[:-1], captured.err


@pytest.mark.parametrize('streamer', [True, False])
def test_one_answer_per_line_and_reset(monkeypatch, capsys, tiny_model_dir, adapter, streamer):
    flags = [] if streamer else ['--no-streamer']
    rc, fresh, _ = chat(monkeypatch, capsys, [tiny_model_dir, '--adapter', adapter, *flags],
                        'Who are you?\n')
    assert rc == 0 and len(fresh) == 1
    rc, lines, _ = chat(monkeypatch, capsys, [tiny_model_dir, '--adapter', adapter, *flags],
                        'Hi\nWho are you?\nRESET\nWho are you?\nEXIT\nnever asked\n')
    assert rc == 0 and len(lines) == 3
    assert lines[2] == fresh[0]  # after RESET the history is gone


def test_history_is_in_the_next_prompt(monkeypatch, capsys, tiny_model_dir, adapter):
    from xtuner_like.chat.session import ChatSession
    prompts = []
    original = ChatSession.prompt

    def spy(self, text):
        prompts.append(original(self, text))
        return prompts[-1]
    monkeypatch.setattr(ChatSession, 'prompt', spy)
    rc, lines, _ = chat(monkeypatch, capsys, [tiny_model_dir, '--adapter', adapter],
                        'Hi\nWho are you?\n')
    assert rc == 0
    assert prompts[1].startswith(prompts[0]) and 'Who are you?' in prompts[1]


@pytest.mark.parametrize('streamer', [True, False])
def test_stop_words_end_the_answer_and_are_not_printed(monkeypatch, capsys, tiny_model_dir,
                                                       adapter, streamer):
    flags = [] if streamer else ['--no-streamer']
    _, (full,), _ = chat(monkeypatch, capsys, [tiny_model_dir, '--adapter', adapter, *flags],
                         'Hi\n')
    stop = full.strip()[2:5]
    assert len(stop) == 3, full
    rc, (cut,), _ = chat(monkeypatch, capsys, [tiny_model_dir, '--adapter', adapter, *flags],
                         'Hi\n', stops=[stop])
    assert rc == 0
    assert stop not in cut and cut == full[:full.find(stop)].strip()


def test_bits_4_on_the_cpu(monkeypatch, capsys, model_64):
    rc, lines, err = chat(monkeypatch, capsys, [model_64, '--bits', '4'], 'Hi\nAgain\n')
    assert rc == 0, err
    assert len(lines) == 2


def test_model_without_chat_template_needs_a_prompt_template(monkeypatch, capsys,
                                                            tiny_model_dir):
    rc, _, err = chat(monkeypatch, capsys, [tiny_model_dir], 'Hi\n')
    assert rc == 1 and '--prompt-template' in err
    rc, lines, _ = chat(monkeypatch, capsys, [tiny_model_dir, '--prompt-template', 'chatml',
                                              '--system-template', 'alpaca'], 'Hi\n')
    assert rc == 0 and len(lines) == 1


def test_missing_adapter_is_a_clear_error(monkeypatch, capsys, tiny_model_dir, tmp_path):
    rc, _, err = chat(monkeypatch, capsys, [tiny_model_dir, '--adapter', tmp_path / 'nope'],
                      'Hi\n')
    assert rc == 1 and 'adapter directory' in err and 'does not exist' in err


def test_tools_file_and_tool_calls_are_shown(tmp_path, monkeypatch, capsys):
    import json

    from xtuner_like.cli import chat as chat_cli
    from xtuner_like.errors import ConfigError
    tools = [{'type': 'function', 'function': {'name': 'get_weather', 'parameters': {}}}]
    path = tmp_path / 'tools.json'
    path.write_text(json.dumps({'tools': tools}))
    assert chat_cli.read_tools(str(path)) == tools
    path.write_text('[]')
    with pytest.raises(ConfigError, match='no function schemas'):
        chat_cli.read_tools(str(path))
    reply = ('Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": '
             '"Paris"}}\n</tool_call>\n<tool_call>\nnot json\n</tool_call>')
    assert chat_cli.show_tool_calls(reply) == ['[tool call] get_weather {"city": "Paris"}']
    prompts = []

    class FakeSession:
        def __init__(self):
            self.tools, self.stops, self.tokenizer = tools, [], None

        def ask(self, text, streamer=None, tool_result=False):
            prompts.append((text, tool_result))
            return reply
    monkeypatch.setattr(chat_cli, 'build_session', lambda args: FakeSession())
    monkeypatch.setattr('sys.stdin', io.StringIO('Weather in Paris?\nTOOL: 21 C\n'))
    assert main(['chat', 'm', '--no-streamer', '--tools', str(path)]) == 0
    out = capsys.readouterr().out
    assert prompts == [('Weather in Paris?', False), ('21 C', True)]
    assert out.count('[tool call] get_weather {"city": "Paris"}') == 2


def test_a_line_that_cannot_be_answered_is_an_error_and_the_chat_goes_on(monkeypatch, capsys):
    from xtuner_like.cli import chat as chat_cli
    from xtuner_like.errors import ConfigError
    answered = []

    class FakeSession:
        tools, stops, tokenizer = [{'name': 'f'}], [], None

        def ask(self, text, streamer=None, tool_result=False):
            if tool_result:
                raise ConfigError('a tool result answers a call, and the last reply made none')
            answered.append(text)
            return 'ok'
    monkeypatch.setattr(chat_cli, 'build_session', lambda args: FakeSession())
    monkeypatch.setattr('sys.stdin', io.StringIO('TOOL: 21 C\nHi\n'))
    assert main(['chat', 'm', '--no-streamer']) == 0
    captured = capsys.readouterr()
    assert 'error: a tool result answers a call' in captured.err and answered == ['Hi']
