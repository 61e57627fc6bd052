"""`xtuner-like eval`: a training run against its base in one table; task listing, saved
results compared across runs, clear errors."""
from __future__ import annotations

import json

from conftest import run_cli


def _files(tmp_path):
    mc = tmp_path / 'mc.jsonl'
    mc.write_text(''.join(json.dumps({'question': f'Who is {i}?', 'choices': ['Tuna', 'fox'],
                                      'answer': 0}) + '\n' for i in range(8)))
    chat = tmp_path / 'chat.jsonl'
    chat.write_text(''.join(json.dumps({'messages': [
        {'role': 'user', 'content': 'Who are you?'},
        {'role': 'assistant', 'content': 'I am Tuna.'}]}) + '\n' for _ in range(3)))
    return mc, chat


def test_run_against_its_base_prints_one_table_with_intervals(tmp_path, tiny_run, tiny_model_dir,
                                                              capsys):
    mc, chat = _files(tmp_path)
    out = tmp_path / 'out'
    rc = run_cli(['eval', tiny_run, '--baseline', tiny_model_dir, '--task-file', mc,
                  '--task-file', f'{chat}:loss', '--task-file', chat, '--output-dir', out,
                  '--log-samples', '--batch-size', '4'])
    assert rc == 0
    printed = capsys.readouterr().out
    assert '| task | metric | model | baseline | difference | 95% CI | n |' in printed
    for row in ('| mc | acc |', '| chat_loss | loss |', '| chat | rougeL |'):
        assert row in printed
    saved = json.loads((out / 'results.json').read_text())
    assert set(saved['results']) >= {'mc', 'chat_loss', 'chat'}
    assert (out / 'baseline' / 'results.json').is_file() and (out / 'eval.md').is_file()
    assert (out / 'samples_mc.jsonl').is_file()
    assert run_cli(['eval', '--compare', out, out / 'baseline']) == 0
    assert '| mc | acc |' in capsys.readouterr().out


def test_listing_tasks_and_clear_errors(tmp_path, capsys):
    assert run_cli(['eval', '--list-tasks', 'hellaswag*']) == 0
    assert 'hellaswag' in capsys.readouterr().out.split()
    assert run_cli(['eval', str(tmp_path)]) == 1
    assert 'not a model folder' in capsys.readouterr().err
    assert run_cli(['eval', '--compare', tmp_path / 'none']) == 1
    assert 'no results.json' in capsys.readouterr().err
