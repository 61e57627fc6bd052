"""Reward functions: extraction rules, each built-in, user functions, and the errors."""
import math

import pytest
import torch

from xtuner_like.errors import ConfigError, RewardError, UnknownNameError
from xtuner_like.model.rewards import (RewardSet, as_number, build_reward, extract_answer,
                                       nan_stats, reference_answer)


def test_extraction_rules():
    assert extract_answer('so <answer> 12 </answer> and <answer>13</answer>') == '13'
    assert extract_answer('work... #### 1,234') == '1,234'
    assert extract_answer(r'thus \boxed{7}') == '7'
    assert extract_answer('  plain  ') == 'plain'
    assert as_number('1,234.5 apples') == 1234.5 and as_number('none') is None
    assert reference_answer({'answer': 'She sold 48 + 24 = 72.\n#### 72'}) == '72'
    assert reference_answer({'answer': 'Paris'}) == 'Paris'


def test_exact_answer_numeric_and_string():
    fn = build_reward('exact_answer').fn
    rows = [{'answer': 'x #### 72'}, {'answer': '72'}, {'answer': '5'}, {'answer': 'Paris'}]
    got = fn(['<answer>72.0</answer>', 'it is 72', '<answer>6</answer>', 'paris.'], rows)
    assert got == [1.0, 1.0, 0.0, 1.0]
    with pytest.raises(KeyError, match="no 'answer' column"):
        fn(['1'], [{'question': 'q'}])


def test_format_length_json():
    assert build_reward(dict(type='format', pattern=r'<answer>\d+</answer>')).fn(
        ['a <answer>3</answer>', 'no'], [{}, {}]) == [1.0, 0.0]
    full = build_reward(dict(type='format', pattern=r'<answer>\d+</answer>', full=True)).fn
    assert full(['a <answer>3</answer>', ' <answer>3</answer> '], [{}, {}]) == [0.0, 1.0]
    length = build_reward(dict(type='length', target=5, scale=10)).fn
    assert length(['abc', 'a' * 10, 'a' * 100], [{}] * 3) == [0.0, -0.5, -1.0]
    js = build_reward('json').fn
    assert js(['{"a": 1}', 'here: {"b": [1]} done', '{bad'], [{}] * 3) == [1.0, 1.0, 0.0]
    tools = [{'type': 'function', 'function': {'name': 'get_weather', 'parameters': {
        'type': 'object', 'properties': {'city': {}, 'unit': {}}, 'required': ['city']}}}]
    call = build_reward(dict(type='json', tools_column='tools')).fn
    rows = [{'tools': tools}] * 4
    assert call(['{"name": "get_weather", "arguments": {"city": "Oslo"}}',
                 '{"name": "get_weather", "arguments": {"unit": "C"}}',
                 '{"name": "get_time", "arguments": {}}',
                 '{"name": "get_weather", "arguments": {"city": "a", "x": 1}}'], rows) == \
        [1.0, 0.0, 0.0, 0.0]


def test_reward_set_weights_names_and_nan():
    rewards = RewardSet([dict(type='exact_answer', weight=1.0),
                         dict(type='format', weight=0.5),
                         dict(type='reward_fns.three', weight=0.1, name='three'),
                         dict(type='reward_fns.scaled', factor=2.0)])
    total, values = rewards.score(['<answer>4</answer>', '5'], [{'answer': '4'}] * 2)
    assert list(values) == ['exact_answer', 'format', 'three', 'scaled']
    assert torch.allclose(total, torch.tensor([1 + 0.5 + 0.3 + 36.0, 0.3 + 2.0]))
    assert rewards.accuracy_names == ['exact_answer']
    none = RewardSet([lambda c, r: [None, 1.0]]).score(['a', 'b'], [{}, {}])[0]
    assert math.isnan(none[0]) and none[1] == 1.0
    assert nan_stats(none) == (1.0, 0.0)


def test_errors_name_the_reward_and_the_sample():
    def broken(completions, rows):
        raise ValueError('boom')
    with pytest.raises(RewardError, match=r"reward 'broken' raised ValueError: boom .*"
                       r"completion 'hi' of row \{'answer': '1'\}"):
        RewardSet([broken]).score(['hi'], [{'answer': '1'}])
    with pytest.raises(RewardError, match="returned 1 values for 2 completions"):
        RewardSet([lambda c, r: [1.0]]).score(['a', 'b'], [{}, {}])
    with pytest.raises(RewardError, match="one number per completion; it returned"):
        RewardSet([lambda c, r: [[1.0], [2.0]]]).score(['a', 'b'], [{}, {}])
    with pytest.raises(UnknownNameError, match="did you mean 'exact_answer'"):
        build_reward('exact_answr')
    with pytest.raises(ConfigError, match='at least one reward'):
        RewardSet([])
    with pytest.raises(ConfigError, match='same name twice'):
        RewardSet(['format', 'format'])
    with pytest.raises(ConfigError, match='not a regex'):
        build_reward(dict(type='format', pattern='('))


def test_reward_model_scores_prompt_and_completion_in_batches(tmp_path, tiny_tokenizer):
    from transformers import LlamaConfig, LlamaForSequenceClassification
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tiny_tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                         num_labels=1, pad_token_id=tiny_tokenizer.pad_token_id)
    LlamaForSequenceClassification(config).save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    fn = build_reward(dict(type='reward_model', path=str(tmp_path), batch_size=2)).fn
    rows = [{'prompt': 'Who are you? '}] * 3
    batched = fn(['I am Tuna.', 'fox', 'The quick brown fox jumps.'], rows)
    alone = [fn([c], rows[:1])[0] for c in ['I am Tuna.', 'fox', 'The quick brown fox jumps.']]
    assert batched == pytest.approx(alone, abs=1e-5)
    with pytest.raises(ConfigError, match='cannot load'):
        build_reward(dict(type='reward_model', path=str(tmp_path / 'missing')))
