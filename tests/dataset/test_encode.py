"""Tests for xtuner_like/dataset/encode.py."""
from __future__ import annotations

import pytest

from xtuner_like.dataset.encode import IGNORE_INDEX, encode_batch, encode_segments
from xtuner_like.dataset.template import template_map_fn
from xtuner_like.errors import ConfigError, DatasetFormatError, UnknownNameError
from xtuner_like.templates import TEMPLATES, get_template

ONE = [{'input': 'Who are you?', 'output': 'I am Tuna.'}]
TWO = ONE + [{'input': 'Give three tips.', 'output': 'Eat well, sleep enough.'}]


def segments(conversation, template='chatml', system=None, eos='<|im_end|>'):
    row = {'conversation': conversation}
    return template_map_fn(row, template, system=system, eos_token=eos)['segments']


def trained_runs(tokenizer, encoded):
    """Decoded text of each contiguous run of trained labels."""
    runs, current = [], []
    for token, label in zip(encoded['input_ids'], encoded['labels']):
        if label == IGNORE_INDEX:
            if current:
                runs.append(current)
            current = []
        else:
            assert label == token
            current.append(token)
    if current:
        runs.append(current)
    return [tokenizer.decode(run) for run in runs]


def test_single_turn_mask_is_exact(tiny_tokenizer):
    segs = segments(ONE, system='Be brief.')
    enc = encode_segments(segs, tiny_tokenizer, max_length=512)
    prompt = tiny_tokenizer('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n'
                            'Who are you?<|im_end|>\n<|im_start|>assistant\n',
                            add_special_tokens=False)['input_ids']
    answer = tiny_tokenizer('I am Tuna.<|im_end|>', add_special_tokens=False)['input_ids']
    assert enc['input_ids'] == prompt + answer
    assert enc['labels'] == [IGNORE_INDEX] * len(prompt) + answer
    assert enc['labels'][-1] == tiny_tokenizer.eos_token_id
    assert (enc['length'], enc['num_trained'], enc['truncated']) == (
        len(prompt) + len(answer), len(answer), False)


def test_multi_turn_trains_every_reply_and_end_of_turn(tiny_tokenizer):
    enc = encode_segments(segments(TWO), tiny_tokenizer, max_length=512)
    assert trained_runs(tiny_tokenizer, enc) == ['I am Tuna.<|im_end|>',
                                                 'Eat well, sleep enough.<|im_end|>']
    assert tiny_tokenizer.decode(enc['input_ids']) == ''.join(s['text'] for s in segments(TWO))


@pytest.mark.parametrize('name', list(TEMPLATES))
def test_every_template_trains_only_replies(tiny_tokenizer, name):
    enc = encode_segments(segments(TWO, name, system='S.'), tiny_tokenizer, 512)
    suffix = get_template(name).suffix.replace('{eos}', tiny_tokenizer.eos_token)
    assert trained_runs(tiny_tokenizer, enc) == ['I am Tuna.' + suffix,
                                                 'Eat well, sleep enough.' + suffix]


def test_truncation_keeps_the_start(tiny_tokenizer):
    segs = segments(TWO)
    full = encode_segments(segs, tiny_tokenizer, max_length=512)
    cut = encode_segments(segs, tiny_tokenizer, max_length=20)
    assert cut['truncated'] and cut['length'] == 20
    assert cut['input_ids'] == full['input_ids'][:20]
    assert cut['labels'] == full['labels'][:20]
    assert cut['num_trained'] == sum(label != IGNORE_INDEX for label in full['labels'][:20])
    exact = encode_segments(segs, tiny_tokenizer, max_length=full['length'])
    assert not exact['truncated']


def test_batched_equals_unbatched(tiny_tokenizer):
    batch = [segments(ONE), segments(TWO, 'llama3_chat', system='S.'),
             [('pre', False), ('text', True)], segments(TWO, 'vicuna')]
    for max_length in (512, 15):
        batched = encode_batch(batch, tiny_tokenizer, max_length)
        singles = [encode_segments(s, tiny_tokenizer, max_length) for s in batch]
        assert batched == {key: [s[key] for s in singles] for key in singles[0]}


def test_no_trained_token_raises(tiny_tokenizer):
    segs = [{'text': 'only a prompt', 'trained': False}, {'text': '', 'trained': True}]
    with pytest.raises(DatasetFormatError, match='no trained token'):
        encode_segments(segs, tiny_tokenizer, 512)
    with pytest.raises(DatasetFormatError, match='no trained token'):
        encode_batch([segments(ONE), segs], tiny_tokenizer, 512)


def test_bad_segments_and_max_length(tiny_tokenizer):
    with pytest.raises(DatasetFormatError, match='a segment must be'):
        encode_segments([['text', 'yes']], tiny_tokenizer, 512)
    with pytest.raises(ConfigError, match='max_length'):
        encode_segments(segments(ONE), tiny_tokenizer, 0)


def test_unknown_template_suggests_close_match():
    with pytest.raises(UnknownNameError, match="no prompt template 'chatm1'; did you mean 'chatml'"):
        segments(ONE, 'chatm1')


def test_pipeline_in_datasets(tiny_tokenizer):
    datasets = pytest.importorskip('datasets')
    ds = datasets.Dataset.from_list([{'conversation': ONE}, {'conversation': TWO}])
    ds = ds.map(template_map_fn, fn_kwargs={'template': 'chatml', 'eos_token': '<|im_end|>'})
    ds = ds.map(lambda b: encode_batch(b['segments'], tiny_tokenizer, 512), batched=True)
    assert ds[1]['labels'] == encode_segments(segments(TWO), tiny_tokenizer, 512)['labels']


def test_token_ids_match_the_tokenizer_call(tiny_tokenizer, monkeypatch):
    from xtuner_like.dataset.encode import token_ids
    texts = ['<|im_start|>user\nWho are you?<|im_end|>\n', 'I am Tuna.', ' spaced  out ', '']
    expected = tiny_tokenizer(texts, add_special_tokens=False)['input_ids']
    called = []
    backend = tiny_tokenizer.backend_tokenizer
    monkeypatch.setattr(type(tiny_tokenizer), '__call__',
                        lambda self, *a, **k: called.append(a) or {'input_ids': expected})
    assert token_ids(texts, tiny_tokenizer) == expected and not called   # the Rust backend
    backend.enable_padding(length=32)          # a backend set to pad goes through __call__
    try:
        assert token_ids(texts, tiny_tokenizer) == expected and called
    finally:
        backend.no_padding()
