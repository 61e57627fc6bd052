"""Tests for xtuner_like/dataset/map_fns/alpaca_zh.py (and alpaca on the English demo)."""
from __future__ import annotations

import pytest
from map_fn_pipeline import EOS, read_rows, pipeline  # noqa: F401 (fixture)

from xtuner_like.dataset.map_fns.alpaca_zh import alpaca_zh_map_fn
from xtuner_like.errors import DatasetFormatError


def chatml(user: str) -> str:
    return f'<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n'


@pytest.mark.parametrize('file, map_fn', [('alpaca_zh_demo.json', 'alpaca_zh'),
                                          ('alpaca_en_demo.json', 'alpaca')])
def test_real_file_trains_exactly_the_outputs(shared_data, pipeline, file, map_fn):
    rows = read_rows(shared_data / file)[:4]
    samples = pipeline(shared_data / file, map_fn)
    assert len(samples) == 4
    for row, (text, spans) in zip(rows, samples):
        user = '\n'.join(p for p in (row['instruction'], row['input']) if p)
        assert spans == [row['output'] + EOS]
        # ChatML's separator follows the last reply too, untrained, as in the served text
        assert text == chatml(user) + row['output'] + EOS + '\n'


def test_first_zh_row_literally(shared_data, pipeline):
    text, spans = pipeline(shared_data / 'alpaca_zh_demo.json', 'alpaca_zh', max_rows=1)[0]
    assert text.startswith('<|im_start|>user\n识别并解释给定列表中的两个科学理论：细胞理论和日心说。'
                           '<|im_end|>\n<|im_start|>assistant\n细胞理论是生物科学的一个理论')
    assert spans[0].startswith('细胞理论是生物科学的一个理论') and spans[0].endswith(EOS)


def test_zh_columns_win_and_errors():
    row = {'instruction_zh': '翻译', 'input_zh': 'cat', 'output_zh': '猫', 'instruction': 'x'}
    assert alpaca_zh_map_fn(row) == {'conversation': [{'input': '翻译\ncat', 'output': '猫'}]}
    with pytest.raises(DatasetFormatError, match="empty: \\['output'\\]"):
        alpaca_zh_map_fn({'instruction': 'x', 'output': ''})
