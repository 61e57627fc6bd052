"""Tests for the column map_fns of hub datasets, and every map_fn's docstring example."""
from __future__ import annotations

import doctest
import importlib

import pytest

from xtuner_like.dataset.map_fns import MAP_FNS
from xtuner_like.errors import DatasetFormatError

CASES = {
    'arxiv': ({'abstract': ' A  study.\n', 'title': 'On\n  Things', 'id': '1'},
              [{'input': 'A  study.', 'output': 'On Things'}]),
    'code_alpaca': ({'instruction': 'Sort', 'input': '[2, 1]', 'output': '[1, 2]'},
                    [{'input': 'Sort\n[2, 1]', 'output': '[1, 2]'}]),
    'wizardlm': ({'conversations': [{'from': 'human', 'value': 'q'},
                                    {'from': 'gpt', 'value': 'a'}]},
                 [{'input': 'q', 'output': 'a'}]),
    'sql': ({'context': 'CREATE TABLE t (a INT)', 'question': 'Count', 'answer': 'SELECT 1'},
            [{'input': 'CREATE TABLE t (a INT)\nCount', 'output': 'SELECT 1'}]),
    'medical': ({'instruction': '发烧', 'input': '三天', 'output': '就医'},
                [{'input': '发烧\n三天', 'output': '就医'}]),
    'law': ({'input': '问', 'output': '答', 'reference': '法条'},
            [{'input': '参考法条：\n法条\n\n问', 'output': '答'}]),
    'colors': ({'description': 'warm red', 'color': '#ff2200'},
               [{'input': 'warm red', 'output': '#ff2200'}]),
    'tiny_codes': ({'prompt': 'p', 'response': 'r', 'idx': 3},
                   [{'input': 'p', 'output': 'r'}]),
    'stack_exchange': ({'question': 'q', 'response': 'r', 'qid': 1},
                       [{'input': 'q', 'output': 'r'}]),
    'openorca': ({'id': 'x', 'system_prompt': '', 'question': 'q', 'response': 'r'},
                 [{'input': 'q', 'output': 'r'}]),
    'crime_kg': ({'question': 'q', 'answer': 'a'}, [{'input': 'q', 'output': 'a'}]),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_columns(name):
    row, conversation = CASES[name]
    assert MAP_FNS.get(name)(row) == {'conversation': conversation}


@pytest.mark.parametrize('name', sorted(CASES))
def test_missing_columns_say_what_and_how(name):
    with pytest.raises(DatasetFormatError, match='rename the columns or pick another'):
        MAP_FNS.get(name)({'unrelated': 'x'})


@pytest.mark.parametrize('name', list(MAP_FNS))
def test_docstring_shows_before_and_after(name):
    fn = MAP_FNS.get(name)
    assert '->' in fn.__doc__.splitlines()[0] and '>>>' in fn.__doc__
    module = importlib.import_module(fn.__module__)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
