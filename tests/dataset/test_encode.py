"""Tests for xtuner_like/dataset/encode.py: trained ids are the served ids, token for token."""
from __future__ import annotations

import pytest
from tokenizer_kinds import KINDS, make_tokenizer

from xtuner_like.dataset.encode import IGNORE_INDEX, encode_batch, encode_segments, token_ids
from xtuner_like.dataset.map_fns.openai import openai_map_fn
from xtuner_like.dataset.template import template_map_fn
from xtuner_like.errors import ConfigError, DatasetFormatError, UnknownNameError
from xtuner_like.templates import TEMPLATES, get_template

ONE = [{'input': 'Who are you?', 'output': 'I am Tuna.'}]
TWO = ONE + [{'input': 'Give three tips.', 'output': 'Eat well, sleep enough.'}]
TOOLS = [{'type': 'function', 'function': {'name': 'weather', 'parameters': {'type': 'object'}}}]
CALL = {'role': 'assistant', 'content': None, 'tool_calls': [
    {'type': 'function', 'function': {'name': 'weather', 'arguments': {'city': city}}}
    for city in ('Paris', 'Nice')]}
# Llama-3.1 and Mistral (tool styles other than Hermes): one call per message, with a
# 9-character id (the exported Mistral template needs the data's).
ONE_CALL = {'role': 'assistant', 'content': None, 'tool_calls': [
    {'id': 'call00001', 'type': 'function',
     'function': {'name': 'weather', 'arguments': {'city': 'Paris'}}}]}
CONVERSATIONS = {
    'single': [{'role': 'user', 'content': 'Hi there'}, {'role': 'assistant', 'content': 'Hello!'}],
    'system_multi': [{'role': 'system', 'content': 'Be brief.'},
                     {'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'},
                     {'role': 'user', 'content': 'Bye'},
                     {'role': 'assistant', 'content': 'See you.'}],
    'tools': [{'role': 'user', 'content': 'Paris weather?'}, CALL,
              {'role': 'tool', 'content': '21 C'}, {'role': 'tool', 'content': {'t': 21}},
              {'role': 'assistant', 'content': 'It is 21 C.'}],
    'one_call': [{'role': 'user', 'content': 'Paris weather?'}, ONE_CALL,
                 {'role': 'tool', 'tool_call_id': 'call00001', 'content': {'t': 21}},
                 {'role': 'assistant', 'content': 'It is 21 C.'}],
    'thinking': [{'role': 'user', 'content': 'Q1'},
                 {'role': 'assistant', 'content': 'A1', 'reasoning_content': 'r1'},
                 {'role': 'user', 'content': 'Q2'},
                 {'role': 'assistant', 'content': '<think>\nr2\n</think>\n\nA2'}],
}


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


@pytest.fixture(scope='module', params=KINDS)
def kind_tokenizer(request):
    return request.param, make_tokenizer(request.param)


@pytest.mark.parametrize('name', list(TEMPLATES))
def test_trained_ids_equal_served_ids(kind_tokenizer, name, tmp_path):
    """Every template, three tokenizer kinds, single/multi-turn, system, tools, thinking:
    the ids trained on are apply_chat_template(tokenize=True) of the exported tokenizer."""
    from transformers import AutoTokenizer

    from xtuner_like.model.export import chat_tokenizer
    from xtuner_like.templates.chat_format import ChatFormat
    kind, tokenizer = kind_tokenizer
    template = get_template(name)
    chat_tokenizer(tokenizer, ChatFormat.build(name)).save_pretrained(tmp_path)
    served = AutoTokenizer.from_pretrained(tmp_path)
    for conv_name, messages in CONVERSATIONS.items():
        if conv_name == 'thinking' and not template.thinking or (
                conv_name == 'tools' and template.tool_style != 'hermes'):
            continue
        tools = TOOLS if conv_name in ('tools', 'one_call') else None
        row = {'messages': messages, **({'tools': tools} if tools else {})}
        segs = template_map_fn(openai_map_fn(row), name,
                               eos_token=tokenizer.eos_token)['segments']
        enc = encode_segments(segs, tokenizer, 4096)
        expected = served.apply_chat_template(messages, tools=tools, tokenize=True,
                                              return_dict=False)
        assert enc['input_ids'] == expected, (kind, conv_name)
        # Every reply is trained, with its end of turn; no user text is.
        replies = [m for m in messages if m['role'] == 'assistant']
        runs = [r.replace(' ', '') for r in trained_runs(tokenizer, enc)]
        assert len(runs) == len(replies), (kind, conv_name, runs)
        for run, reply in zip(runs, replies):
            answer = (reply['content'] or 'weather').split('</think>')[-1].strip()
            assert answer.replace(' ', '') in run and not any(
                m['content'] in run for m in messages if m['role'] == 'user'), (kind, run)


def test_llama2_reply_space_is_one_token_with_the_reply():
    """The bug of tokenizing segments apart: a SentencePiece tokenizer trained
    '[/INST]' + '▁' + '▁Hello' (two spaces); the served text has '▁Hello'."""
    tokenizer = make_tokenizer('sentencepiece')
    segs = segments([{'input': 'Hi there', 'output': 'Hello!'}], 'llama2_chat',
                    eos=tokenizer.eos_token)
    enc = encode_segments(segs, tokenizer, 512)
    text = ''.join(s['text'] for s in segs)
    assert enc['input_ids'] == tokenizer(text, add_special_tokens=False)['input_ids']
    separate = [i for s in segs for i in tokenizer(s['text'], add_special_tokens=False)['input_ids']]
    assert separate != enc['input_ids']
    first_trained = next(i for i, label in enumerate(enc['labels']) if label != IGNORE_INDEX)
    assert tokenizer.convert_ids_to_tokens(enc['input_ids'][first_trained]).startswith('▁')


def test_single_turn_mask_is_exact(tiny_tokenizer):
    segs = segments(ONE, system='Be brief.')
    enc = encode_segments(segs, tiny_tokenizer, max_length=512)
    prompt = tiny_tokenizer('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n'
                            'Who are you?<|im_end|>\n<|im_start|>assistant\n',
                            add_special_tokens=False)['input_ids']
    answer = tiny_tokenizer('I am Tuna.<|im_end|>', add_special_tokens=False)['input_ids']
    newline = tiny_tokenizer('\n', add_special_tokens=False)['input_ids']
    assert enc['input_ids'] == prompt + answer + newline
    assert enc['labels'] == [IGNORE_INDEX] * len(prompt) + answer + [IGNORE_INDEX]
    assert (enc['length'], enc['num_trained'], enc['truncated']) == (
        len(prompt) + len(answer) + 1, len(answer), False)


def test_multi_turn_trains_every_reply_and_end_of_turn(tiny_tokenizer):
    enc = encode_segments(segments(TWO), tiny_tokenizer, max_length=512)
    assert trained_runs(tiny_tokenizer, enc) == ['I am Tuna.<|im_end|>',
                                                 'Eat well, sleep enough.<|im_end|>']
    assert tiny_tokenizer.decode(enc['input_ids']) == ''.join(s['text'] for s in segments(TWO))


@pytest.mark.parametrize('name', list(TEMPLATES))
def test_every_template_trains_only_replies(tiny_tokenizer, name):
    template = get_template(name)
    enc = encode_segments(segments(TWO, name, system='S.'), tiny_tokenizer, 512)
    suffix = template.suffix.replace('{eos}', tiny_tokenizer.eos_token)
    runs = trained_runs(tiny_tokenizer, enc)
    assert len(runs) == 2
    for run, turn in zip(runs, TWO):
        assert run.endswith(turn['output'] + suffix) and turn['input'] not in run


@pytest.mark.parametrize('kind', KINDS)
def test_truncation_keeps_whole_turns(kind):
    """Never a reply without its end of turn: whole turns are kept, or the sample dropped."""
    tokenizer = make_tokenizer(kind)
    eos = tokenizer.eos_token
    segs = segments(TWO, eos=eos)
    full = encode_segments(segs, tokenizer, max_length=4096)
    trained = [i for i, label in enumerate(full['labels']) if label != IGNORE_INDEX]
    first_end = next(i for i, j in zip(trained, trained[1:]) if j > i + 1)  # end of reply 1
    for max_length in range(trained[-1] + 1, full['length']):  # only the separator is lost
        cut = encode_segments(segs, tokenizer, max_length)
        assert cut['truncated'] and cut['input_ids'] == full['input_ids'][:trained[-1] + 1]
    for max_length in range(first_end + 1, trained[-1] + 1):
        cut = encode_segments(segs, tokenizer, max_length)
        assert cut['truncated'] and cut['length'] == first_end + 1
        assert cut['input_ids'] == full['input_ids'][:first_end + 1]
        assert cut['labels'] == full['labels'][:first_end + 1]
        assert trained_runs(tokenizer, cut) == trained_runs(tokenizer, full)[:1]
    dropped = encode_segments(segs, tokenizer, first_end)
    assert dropped['truncated'] and dropped['input_ids'] == [] and dropped['num_trained'] == 0
    exact = encode_segments(segs, tokenizer, full['length'])
    assert not exact['truncated'] and exact == full


def test_plain_text_is_cut_at_max_length(tiny_tokenizer):
    segs = segments(TWO, None)
    full = encode_segments(segs, tiny_tokenizer, 4096)
    cut = encode_segments(segs, tiny_tokenizer, 10)
    assert cut['input_ids'] == full['input_ids'][:10] == cut['labels'] and cut['truncated']


def test_full_length_reports_the_length_before_truncation(tiny_tokenizer):
    segs = segments(TWO)
    full = encode_segments(segs, tiny_tokenizer, 4096)
    cut = encode_segments(segs, tiny_tokenizer, full['length'] - 1, full_length=True)
    assert cut['full_length'] == full['length'] > cut['length']


class CharTokenizer:
    """A slow (Python) tokenizer: no offsets. 'ab' pairs merge, so merges cross borders."""

    is_fast = False

    def __call__(self, text, add_special_tokens=False):
        if isinstance(text, list):
            return {'input_ids': [self(t)['input_ids'] for t in text]}
        ids, i = [], 0
        while i < len(text):
            if text.startswith('ab', i):
                ids.append(1000)
                i += 2
            else:
                ids.append(ord(text[i]))
                i += 1
        return {'input_ids': ids}


@pytest.mark.parametrize('segs, trained', [
    ([('xa', False), ('by', True), ('z', False)], [1000, ord('y')]),      # a merge across
    ([('xy', False), ('ab', True), ('a', False), ('bq', True)], [1000, 1000, ord('q')]),
    ([('q', False), ('rs', True)], [ord('r'), ord('s')]),
])
def test_slow_tokenizer_fallback(segs, trained):
    enc = encode_segments(segs, CharTokenizer(), 512)
    text = ''.join(t for t, _ in segs)
    assert enc['input_ids'] == CharTokenizer()(text)['input_ids']
    assert [label for label in enc['labels'] if label != IGNORE_INDEX] == trained


@pytest.mark.parametrize('kind', KINDS)
def test_slow_fallback_trains_exactly_the_fast_spans(kind):
    """Without offsets (a slow tokenizer) the trained tokens are exactly those the offsets of
    the fast tokenizer give, on every template, with and without system, with tool turns.
    On the 'sentencepiece' kind merges cross word starts, so a prefix's ids part from the
    whole text's before the border: the fallback must search back to a real token border."""
    tokenizer = make_tokenizer(kind)

    class Slow:
        is_fast = False

        def __call__(self, text, add_special_tokens=False):
            return tokenizer(text, add_special_tokens=False)

    for name in TEMPLATES:
        tool_row = {'messages': CONVERSATIONS[
            'tools' if get_template(name).tool_style == 'hermes' else 'one_call'], 'tools': TOOLS}
        for segs in (segments(TWO, name, system='S.', eos=tokenizer.eos_token),
                     segments(ONE, name, eos=tokenizer.eos_token),
                     template_map_fn(openai_map_fn(tool_row), name,
                                     eos_token=tokenizer.eos_token)['segments']):
            assert encode_segments(segs, Slow(), 512) == encode_segments(segs, tokenizer, 512), (
                name, segs)


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


def test_token_ids_match_the_tokenizer_call(tiny_tokenizer):
    texts = ['<|im_start|>user\nWho are you?<|im_end|>\n', 'I am Tuna.', ' spaced  out ', '']
    expected = tiny_tokenizer(texts, add_special_tokens=False)['input_ids']
    assert token_ids(texts, tiny_tokenizer) == expected
    backend = tiny_tokenizer.backend_tokenizer
    backend.enable_padding(length=32)          # a backend set to pad goes through __call__
    try:
        assert token_ids(texts, tiny_tokenizer) == tiny_tokenizer(
            texts, add_special_tokens=False)['input_ids']
    finally:
        backend.no_padding()
