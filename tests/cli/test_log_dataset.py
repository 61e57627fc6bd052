"""`xtuner-like log-dataset`: processed samples with the trained text marked."""
from __future__ import annotations

import json

from conftest import run_cli

from xtuner_like.dataset.preview import GREEN


def test_moss_samples_marked(shared_data, tiny_model_dir, xl_home, capsys):
    rows = [json.loads(line) for line in
            (shared_data / 'moss_003_sft_sample.jsonl').read_text().splitlines()[:2]]
    rc = run_cli(['log-dataset', 'internlm2_5_7b_chat_qlora_moss_sft', '--show', '2',
                  '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}',
                  f'data_files={shared_data / "moss_003_sft_sample.jsonl"}', 'max_rows=2',
                  'max_length=100000'])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith('2 samples (trained text in [[...]])')
    assert out.count('--- sample ') == 2 and GREEN not in out
    turn = rows[0]['chat']['turn_1']
    assert f"[[{turn['Inner Thoughts']}{turn['Commands']}]]{turn['Tool Responses']}" \
           f"[[{turn['MOSS']}]]" in out
    first = rows[1]['chat']['turn_1']
    assert f"{rows[1]['meta_instruction']}{first['Human']}[[" in out  # user's words: not trained


def test_colour_on_request(tmp_path, tiny_model_dir, xl_home, capsys):
    path = tmp_path / 'chat.jsonl'
    path.write_text(json.dumps({'messages': [{'role': 'user', 'content': 'Hi'},
                                             {'role': 'assistant', 'content': 'Hey'}]}) + '\n')
    rc = run_cli(['log-dataset', 'custom_openai_jsonl_lora', '--show', '5', '--color', 'always',
                  '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}',
                  f'data_files={path}'])
    out = capsys.readouterr().out
    assert rc == 0 and out.count('--- sample ') == 1
    assert f'{GREEN}Hey<|im_end|>' in out and '[[' not in out


def test_preference_recipe_shows_both_replies_trained(capsys, tiny_model_dir, xl_home):
    rc = run_cli(['log-dataset', 'smollm2_135m_instruct_lora_dpo', '--show', '1', '--color',
                  'never', '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}'])
    out = capsys.readouterr().out
    assert rc == 0
    assert '[[I am Tuna,' in out and '[[I am SmolLM,' in out and out.count(']]') == 3  # + legend
