"""Tests for xtuner_like/dataset/map_fns/moss_sft.py on the real MOSS-003 sample."""
from __future__ import annotations

import pytest
from map_fn_pipeline import read_rows, pipeline  # noqa: F401 (fixture)

from xtuner_like.dataset.map_fns.moss_sft import moss_sft_map_fn
from xtuner_like.errors import DatasetFormatError

FIELDS = ('Human', 'Inner Thoughts', 'Commands', 'Tool Responses', 'MOSS')


def turns_of(row):
    return [row['chat'][f'turn_{i}'] for i in range(1, len(row['chat']) + 1)]


def test_plugin_row_trains_thoughts_commands_and_reply(shared_data, pipeline):
    row = read_rows(shared_data / 'moss_003_sft_sample.jsonl')[0]
    text, spans = pipeline(shared_data / 'moss_003_sft_sample.jsonl', 'moss_sft', max_rows=1,
                           prompt_template='moss_sft')[0]
    # the rendered text is MOSS's own training text, byte for byte
    assert text == row['meta_instruction'] + ''.join(t[f] for t in turns_of(row) for f in FIELDS)
    assert spans == [
        '<|Inner Thoughts|>: 这是一个基本的几何问题，需要使用勾股定理来求解。设第三条边为x，则有'
        '16^2=12^2+x^2，可以求解得到x=8√5<eot>\n<|Commands|>: None<eoc>\n',
        '<|MOSS|>: 这个三角形的第三条边长度是8√5。<eom>\n',
        '<|Inner Thoughts|>: 计算三角形面积需要使用三角形的底和高，而已知的边长无法直接得到三角形'
        '的高，因此需要使用海伦公式先求出三角形的半周长，然后通过半周长和三边长度计算面积。<eot>\n'
        + turns_of(row)[1]['Commands'],
        '<|MOSS|>: 经过计算，这个三角形的面积约为109.86平方单位。<eom>\n',
    ]
    # what the user and the calculator wrote is not trained
    for turn in turns_of(row):
        assert not any(turn['Human'] in s or turn['Tool Responses'] in s for s in spans)


def test_several_rows_with_and_without_plugins(shared_data, pipeline):
    path = shared_data / 'moss_003_sft_sample.jsonl'
    rows = read_rows(path)
    picked = [0, 1, 400, 919]
    samples = pipeline(path, 'moss_sft', max_rows=920, prompt_template='moss_sft')
    assert len(samples) == 920
    for k in picked:
        text, spans = samples[k]
        turns = turns_of(rows[k])
        assert text == rows[k]['meta_instruction'] + ''.join(t[f] for t in turns for f in FIELDS)
        assert spans == [s for t in turns for s in (t['Inner Thoughts'] + t['Commands'],
                                                    t['MOSS'])]
    assert {'without' in rows[k]['_source'] for k in picked} == {True, False}


def test_turn_without_thoughts_is_one_turn_and_errors():
    row = {'chat': {'turn_2': {'Human': 'h2', 'MOSS': 'm2'}, 'turn_1': {'Human': 'h1',
                                                                        'MOSS': 'm1'}}}
    assert moss_sft_map_fn(row) == {'conversation': [{'input': 'h1', 'output': 'm1'},
                                                     {'input': 'h2', 'output': 'm2'}]}
    with pytest.raises(DatasetFormatError, match="needs non-empty 'Human' and 'MOSS'"):
        moss_sft_map_fn({'chat': {'turn_1': {'Human': 'h'}}})
    with pytest.raises(DatasetFormatError, match="'chat' dict"):
        moss_sft_map_fn({'meta_instruction': 'x'})
