"""Shared column checks of map_fns, and naming the registered formats a row fits."""
import doctest
import importlib

import pytest

from xtuner_like.dataset.map_fns import MAP_FNS, get_map_fn
from xtuner_like.dataset.map_fns._columns import (ROW_KINDS, columns_hint, first_present, fits,
                                                  fitting_map_fns, join, present,
                                                  problem_fields, requires, text_fields)
from xtuner_like.errors import DatasetFormatError


def test_text_fields():
    assert text_fields({'q': 'a', 'c': None}, 'fmt', ('q',), ('c',)) == ['a', '']
    with pytest.raises(DatasetFormatError, match=r"fmt row needs .*\['q'\].*found \['x'\]"):
        text_fields({'x': 'y'}, 'fmt', ('q',))
    with pytest.raises(DatasetFormatError, match=r"fmt row: empty: \['q'\]"):
        text_fields({'x': 'y', 'q': ' \n'}, 'fmt', ('q',))
    with pytest.raises(DatasetFormatError, match=r"not text: \['q'\]"):
        text_fields({'q': 3}, 'fmt', ('q',))
    with pytest.raises(DatasetFormatError, match='must be text'):
        text_fields({'q': 'a', 'c': 3}, 'fmt', ('q',), ('c',))


def test_problem_fields_says_what_is_wrong():
    row = {'a': None, 'b': '  ', 'c': [], 'd': 1, 'e': 'ok'}
    assert problem_fields(row, ('a', 'b', 'c', 'd', 'e', 'f')) == {
        'missing': ['a', 'f'], 'empty': ['b', 'c'], 'not text': ['d']}


def test_small_helpers():
    assert first_present({'b': 1, 'c': 2}, 'a', 'c', 'b') == 'c'
    assert first_present({}, 'a') is None
    assert join('a', '', 'b') == 'a\nb' and join('a', 'b', sep=' ') == 'a b'
    assert present({'a': None, 'b': 1}) == ['b']
    with pytest.raises(ValueError, match='row kind'):
        requires('dpo', ('a',))


@pytest.mark.parametrize('name', list(MAP_FNS))
def test_every_map_fn_declares_the_columns_its_examples_have(name):
    """Each registered map_fn declares a row kind and its columns, and every row its
    docstring examples pass it fits them (so a suggestion names the format that reads it)."""
    fn = MAP_FNS.get(name)
    assert fn.row_kind in ROW_KINDS and fn.required_columns
    seen = []

    def recording(row, *args, **kwargs):
        seen.append(row)
        return fn(row, *args, **kwargs)

    module = importlib.import_module(fn.__module__)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder().find(fn, module=module, globs=vars(module).copy()):
        test.globs[fn.__name__] = recording
        runner.run(test)
    assert seen and all(fits(row, fn) for row in seen)
    assert all(name in [n for n, _ in fitting_map_fns(row)] for row in seen)


DPO_ROW = {'conversations': [{'from': 'human', 'value': 'Hi'}],
           'chosen': {'from': 'gpt', 'value': 'Hello!'},
           'rejected': {'from': 'gpt', 'value': 'Go.'}}


@pytest.mark.parametrize('fmt, row, names', [
    # a DPO recipe given ShareGPT pairs with plain_preference
    ('plain_preference', DPO_ROW, ["'sharegpt_preference'"]),
    # ... and trl pairs with sharegpt_preference
    ('sharegpt_preference', {'prompt': 'Hi', 'chosen': 'a', 'rejected': 'b'},
     ["'plain_preference'", "'openai_preference'"]),
    # Alpaca rows with the sharegpt map_fn: every format that reads instruction/output
    ('sharegpt', {'instruction': 'Add.', 'input': '', 'output': '5'}, ["'alpaca'", "'medical'"]),
    # ShareGPT rows with alpaca
    ('alpaca', {'conversations': [{'from': 'human', 'value': 'Hi'}]}, ["'sharegpt'"]),
    # OpenAI messages with the kto map_fn's prompt/completion: kto reads them with a label
    ('openai', {'prompt': 'Hi', 'completion': 'a', 'label': True}, ["'code_alpaca'"]),
])
def test_a_missing_column_names_the_formats_the_row_fits(fmt, row, names):
    with pytest.raises(DatasetFormatError) as info:
        get_map_fn(fmt)(row)
    message = str(info.value)
    assert 'dataset_map_fn=' in message and all(n in message for n in names), message
    assert f"{fmt!r}" not in message.split('fit')[-1]


def test_rows_of_another_kind_are_named_as_such():
    sft = {'conversations': [{'from': 'human', 'value': 'Hi'}, {'from': 'gpt', 'value': 'Yo'}]}
    with pytest.raises(DatasetFormatError, match="no preference format but .*'sharegpt'.*SFT rows"):
        get_map_fn('sharegpt_preference')(sft)
    kto = {'messages': [{'role': 'user', 'content': 'Hi'}], 'label': True}
    assert "'kto'" in columns_hint(kto, 'plain_preference') and 'KTO' in columns_hint(
        kto, 'plain_preference')
    assert 'list-dataset-format' in columns_hint({'weird': 1}, 'alpaca')


@pytest.mark.parametrize('on_bad_row', ['error', 'skip'])
def test_a_recipe_whose_map_fn_fits_no_row_names_the_one_that_does(tiny_tokenizer, tmp_path,
                                                                    on_bad_row):
    """A DPO recipe given ShareGPT pairs with plain_preference, an SFT recipe given Alpaca rows
    with sharegpt: stopped at the first row, or every row skipped, the error names the fit."""
    import json

    from xtuner_like.dataset import build_preference_dataset, build_sft_dataset
    pairs, alpaca = tmp_path / 'pairs.json', tmp_path / 'alpaca.json'
    pairs.write_text(json.dumps([DPO_ROW] * 3))
    alpaca.write_text(json.dumps([{'instruction': 'Add.', 'input': '2, 3', 'output': '5'}] * 3))
    common = dict(tokenizer=tiny_tokenizer, cache_dir=str(tmp_path / 'cache'),
                  on_bad_row=on_bad_row, max_length=256)
    with pytest.raises(DatasetFormatError, match=r"row 0: plain_preference row needs .*"
                       r"fit dataset_map_fn='sharegpt_preference'"):
        build_preference_dataset(data_files=str(pairs), dataset_map_fn='plain_preference',
                                 **common)
    with pytest.raises(DatasetFormatError, match=r"row 0: sharegpt row needs .*"
                       r"fit dataset_map_fn='alpaca'"):
        build_sft_dataset(data_files=str(alpaca), dataset_map_fn='sharegpt', **common)
