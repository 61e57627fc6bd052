import numpy as np

from xtuner_like.curate.exact_dedup import exact_duplicates, exact_key_batch

from .conftest import batch, sample


def conv(q, a):
    return sample({'system': '', 'input': q, 'output': a})


def test_keys_ignore_case_whitespace_and_punctuation():
    keys = exact_key_batch(batch([conv('Hi there!', 'Hello.'), conv('hi   THERE', 'hello'),
                                  conv('Hi there!', 'Goodbye.')], _id=[0, 1, 2]),
                           by='conversation')['_exact_key']
    assert keys[0] == keys[1] != keys[2]
    by_prompt = exact_key_batch(batch([conv('Hi there!', 'Hello.'),
                                       conv('Hi there!', 'Goodbye.')], _id=[0, 1]),
                                by='prompt')['_exact_key']
    assert by_prompt[0] == by_prompt[1]


def test_the_first_row_of_each_key_is_kept_whatever_the_order():
    ids = np.array([9, 3, 5, 1, 7, 2])
    keys = np.array([1, 1, 2, 3, 2, 1])
    drop, kept = exact_duplicates(ids, keys)
    assert drop.tolist() == [3, 7, 9] and kept.tolist() == [2, 5, 2]
    empty = exact_duplicates(np.array([], np.int64), np.array([], np.int64))
    assert len(empty[0]) == 0
