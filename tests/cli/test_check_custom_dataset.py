"""`xtuner-like check-custom-dataset`: planted bad rows fail by number; real samples pass."""
from __future__ import annotations

import json

from conftest import run_cli

RECIPE = 'custom_openai_jsonl_lora'
GOOD = {'messages': [{'role': 'user', 'content': 'Hi'},
                     {'role': 'assistant', 'content': 'Hello!'}]}


def test_planted_bad_rows_are_named_and_fail(tmp_path, tiny_model_dir, xl_home, capsys):
    path = tmp_path / 'mine.jsonl'
    rows = [GOOD] * 9
    rows[1] = {'messages': [{'role': 'user', 'content': 'no reply'}]}            # line 2
    rows[4] = {'messages': 'not a list'}                                         # line 5
    rows[6] = {'messages': [{'role': 'user', 'content': 'a'},                    # line 7
                            {'role': 'user', 'content': 'b'}]}
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    rc = run_cli(['check-custom-dataset', RECIPE, '--cfg-options',
                  f'pretrained_model_name_or_path={tiny_model_dir}', f'data_files={path}'])
    out, err = capsys.readouterr()
    assert rc == 1
    assert '3 bad row(s):' in out
    assert f'{path}, line 2: openai row has no assistant reply to train on' in out
    assert f"{path}, line 5: openai row needs a non-empty 'messages' list" in out
    assert f"{path}, line 7: message 1 has role 'user' where 'assistant' was expected" in out
    assert 'rows:            9 (3 bad, 6 usable)' in out
    assert 'FAILED: 3 bad row(s) of 9' in err


def test_real_moss_and_toolcall_samples_pass(shared_data, tiny_model_dir, xl_home, capsys):
    for recipe, file in [('qwen2_5_7b_instruct_lora_moss_sft', 'moss_003_sft_sample.jsonl'),
                         ('qwen2_5_7b_instruct_lora_toolcall', 'glaive_toolcall_en_demo.json')]:
        rc = run_cli(['check-custom-dataset', recipe, '--cfg-options',
                      f'pretrained_model_name_or_path={tiny_model_dir}',
                      f'data_files={shared_data / file}'])
        out = capsys.readouterr().out
        assert rc == 0, out
        for field in ('rows:', 'tokens:', 'trained tokens:', 'truncated rows:', 'p50',
                      'p90', 'p99', 'max', 'pack efficiency', 'OK: ', ' kept, '):
            assert field in out


def test_unknown_option_is_a_real_error(tiny_model_dir, capsys):
    rc = run_cli(['check-custom-dataset', RECIPE, '--cfg-options', 'data_filez=x'])
    assert rc == 1 and "did you mean 'data_files'" in capsys.readouterr().err


def test_pairs_dropped_for_max_length_are_counted_in_the_closing_line(tmp_path, tiny_model_dir,
                                                                     xl_home, capsys):
    """It said 'OK: all 300 rows pass' after most pairs were dropped (issue 23, 7)."""
    path = tmp_path / 'pairs.jsonl'
    rows = [{'prompt': 'Hi', 'chosen': 'word ' * 300, 'rejected': 'No.'}] * 3 + [
        {'prompt': 'Hi', 'chosen': 'Yes.', 'rejected': 'No.'}] * 2
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    rc = run_cli(['check-custom-dataset', 'smollm2_135m_instruct_lora_dpo', '--cfg-options',
                  f'pretrained_model_name_or_path={tiny_model_dir}', f'data_files={path}',
                  'max_length=200'])
    out, err = capsys.readouterr()
    assert rc == 0, err[-2000:]
    assert out.splitlines()[-1] == ('OK: 5 preference rows: 2 kept, 3 dropped (too long for '
                                    'max_length=200: a reply does not fit), 0 bad')
