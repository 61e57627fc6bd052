"""--task-file rows become harness tasks; bad rows say file, row and fix."""
from __future__ import annotations

import json

import pytest
import torch

from conftest import make_tiny_llama, make_tiny_tokenizer
from xtuner_like.errors import ConfigError, DatasetFormatError
from xtuner_like.eval.task_files import build_file_task, detect_kind, parse_task_file
from xtuner_like.templates.chat_format import ChatFormat


def _rows(path, rows):
    path.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows))
    return path


def _docs(task):
    return list(task.test_docs())


def test_kinds_are_told_from_columns_or_given(task_files, tmp_path):
    assert detect_kind(tmp_path, {'question', 'choices', 'answer'}) == 'mc'
    assert detect_kind(tmp_path, {'question', 'answer', 'id'}) == 'qa'
    assert detect_kind(tmp_path, {'messages'}) == 'chat'
    assert detect_kind(tmp_path, {'instruction', 'input', 'output'}) == 'chat'
    with pytest.raises(ConfigError, match=r"add ':KIND'"):
        detect_kind(tmp_path, {'prompt', 'x'})
    assert parse_task_file(f"{task_files['chat']}:loss") == (task_files['chat'], 'loss')
    assert parse_task_file(str(task_files['mc'])) == (task_files['mc'], None)
    with pytest.raises(ConfigError, match='no such file'):
        parse_task_file(str(tmp_path / 'nope.jsonl'))


def test_multiple_choice_answers_as_index_letter_or_text(tmp_path):
    rows = [{'question': 'q1', 'choices': ['a', 'b', 'c'], 'answer': 2},
            {'question': 'q2', 'choices': ['a', 'b', 'c'], 'answer': 'B'},
            {'question': 'q3', 'choices': ['yes', 'no'], 'answer': 'no'}]
    task = build_file_task(str(_rows(tmp_path / 'mc.jsonl', rows)), tmp_path / 'data')
    assert [d['label'] for d in _docs(task)] == [2, 1, 1]
    assert task.OUTPUT_TYPE == 'multiple_choice'
    for bad, message in (({'answer': 'Z'}, "neither a letter"), ({'answer': 5}, 'outside'),
                         ({'choices': ['only']}, '2 or more')):
        row = {**rows[0], **bad}
        with pytest.raises(DatasetFormatError, match=rf'mc_bad.jsonl, row 1: .*{message}'):
            build_file_task(str(_rows(tmp_path / 'mc_bad.jsonl', [rows[0], row])),
                            tmp_path / 'data')


def test_chat_rows_in_any_sft_format_keep_their_history(task_files, tmp_path):
    task = build_file_task(str(task_files['chat']), tmp_path / 'data')
    doc, = _docs(task)
    assert doc['messages'] == [{'role': 'user', 'content': 'Who are you?'}]
    assert doc['reference'] == 'I am Tuna.'
    alpaca = build_file_task(str(task_files['alpaca']), tmp_path / 'data')
    assert _docs(alpaca)[0]['reference'] == 'Eat, sleep, move.'
    fmt = ChatFormat.build('chatml')
    tok = make_tiny_tokenizer()
    tok.chat_template = fmt.chat_template
    prompt = task.fewshot_context(doc, 0, apply_chat_template=True, chat_template=lambda m: (
        tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True)))
    assert prompt.endswith('<|im_start|>assistant\n') and 'Who are you?' in prompt


def test_loss_task_equals_the_training_loss_on_trained_tokens(task_files, tmp_path):
    """The loss of a task file = sum of cross-entropy over the encoder's trained tokens."""
    from xtuner_like.dataset.encode import encode_segments
    from xtuner_like.eval.backend import XtunerLM
    from xtuner_like.eval.run import run_tasks
    from xtuner_like.templates.prompt import render_conversation
    tok = make_tiny_tokenizer()
    model = make_tiny_llama(len(tok)).eval()
    rows = [{'messages': [{'role': 'system', 'content': 'Be brief.'},
                          {'role': 'user', 'content': 'Who are you?'},
                          {'role': 'assistant', 'content': 'I am Tuna.'},
                          {'role': 'user', 'content': 'And who made you?'},
                          {'role': 'assistant', 'content': 'The xtuner_like team.'}]},
            {'messages': [{'role': 'user', 'content': 'Hi'},
                          {'role': 'assistant', 'content': 'Hello there'}]}]
    path = _rows(tmp_path / 'val.jsonl', rows)
    fmt = ChatFormat.build('chatml')
    results = run_tasks(XtunerLM(model, tok), task_files=[f'{path}:loss'],
                        data_dir=tmp_path / 'data', chat_format=fmt)
    got = results['results']['val_loss']['loss,none']
    from xtuner_like.dataset.map_fns import get_map_fn
    total, count = 0.0, 0
    for row in rows:
        turns = get_map_fn('openai')(row)['conversation']
        enc = encode_segments(render_conversation(turns, fmt.template, system=fmt.system,
                                                  eos_token=tok.eos_token), tok, 10 ** 6)
        ids, labels = torch.tensor([enc['input_ids']]), torch.tensor(enc['labels'])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, :-1]
        total += torch.nn.functional.cross_entropy(logits, labels[1:], ignore_index=-100,
                                                   reduction='sum').item()
        count += int((labels[1:] != -100).sum())
    assert got == pytest.approx(total / count, rel=1e-5)
    with pytest.raises(ConfigError, match="needs the run's template"):
        build_file_task(f'{path}:loss', tmp_path / 'data', tok, None)
