"""Tests for xtuner_like/dataset/concat.py: several sources, ratios, one packing."""
from __future__ import annotations

import json

import pytest

from xtuner_like.dataset.concat import build_concat_dataset, sample_by_ratio
from xtuner_like.errors import ConfigError


def test_sample_by_ratio():
    assert sample_by_ratio(4, 1.0, 0) == [0, 1, 2, 3]
    assert sample_by_ratio(3, 2.0, 0) == [0, 1, 2, 0, 1, 2]
    half = sample_by_ratio(10, 0.5, 0)
    assert len(half) == 5 and len(set(half)) == 5 and half == sample_by_ratio(10, 0.5, 0)
    assert len(sample_by_ratio(4, 1.5, 0)) == 6


def test_two_formats_mixed_and_packed(tmp_path, tiny_tokenizer):
    alpaca = tmp_path / 'a.json'
    alpaca.write_text(json.dumps([{'instruction': f'Q{i}', 'input': '', 'output': f'A{i}'}
                                  for i in range(10)]))
    chats = tmp_path / 'b.jsonl'
    chats.write_text(''.join(json.dumps({'messages': [
        {'role': 'user', 'content': f'Hi {i}'}, {'role': 'assistant', 'content': 'Yo'}]}) + '\n'
        for i in range(4)))
    sources = [dict(data_files=str(alpaca), dataset_map_fn='alpaca', ratio=0.5),
               dict(data_files=str(chats), dataset_map_fn='openai', ratio=2)]
    unpacked = build_concat_dataset(tiny_tokenizer, sources, max_length=128,
                                    pack_to_max_length=False, cache_dir=str(tmp_path / 'c'))
    assert len(unpacked) == 5 + 8
    assert [s['kept'] for s in unpacked.stats['sources']] == [5, 8]
    texts = [tiny_tokenizer.decode(unpacked[i]['input_ids']) for i in range(len(unpacked))]
    assert sum('### Instruction' in t or '<|im_start|>user\nQ' in t for t in texts) == 5
    assert sum('Hi ' in t for t in texts) == 8
    packed = build_concat_dataset(tiny_tokenizer, sources, max_length=128,
                                  cache_dir=str(tmp_path / 'c'))
    assert packed.packed and len(packed) < 13
    assert sum(int(packed[i]['num_samples']) for i in range(len(packed))) == 13
    assert 0 < packed.stats['pack_efficiency'] <= 1


def test_bad_sources(tiny_tokenizer):
    with pytest.raises(ConfigError, match='at least one source'):
        build_concat_dataset(tiny_tokenizer, [])
    with pytest.raises(ConfigError, match="unknown key\\(s\\) \\['map_fn'\\]"):
        build_concat_dataset(tiny_tokenizer, [dict(data_files='x', map_fn='alpaca')])
    with pytest.raises(ConfigError, match='ratio must be a positive number'):
        build_concat_dataset(tiny_tokenizer, [dict(data_files='x', ratio=0)])
