from xtuner_like.curate.decontaminate import contaminated_batch, eval_index, ngram_hashes

from .conftest import batch, sample

LONG = ' '.join(f'word{i}' for i in range(30))


def conv(text):
    return sample({'system': '', 'input': 'Q', 'output': text})


def test_rows_sharing_a_long_ngram_are_marked():
    index, sizes = eval_index([LONG], 13, 8)
    assert sizes == [13] and len(index) == 30 - 13 + 1
    inside = 'Intro. ' + ' '.join(LONG.split()[5:20]) + ' outro'
    partial = ' '.join(LONG.split()[:12])                       # only 12 words in common
    out = contaminated_batch(batch([conv(inside), conv(partial), conv('x')]),
                             index=index, sizes=sizes)
    assert out['_reason'] == ['contaminated', '', '']


def test_short_eval_items_are_matched_at_their_own_length():
    short = 'what is the boiling point of water at sea level'   # 10 words
    index, sizes = eval_index([short, 'too short'], 13, 8)
    assert sizes == [10, 13]
    out = contaminated_batch(batch([conv('So: ' + short.upper() + '?')]),
                             index=index, sizes=sizes)
    assert out['_reason'] == ['contaminated']


def test_ngram_hashes_differ_by_size():
    assert set(ngram_hashes('a b c d', [2])).isdisjoint(ngram_hashes('a b c d', [3]))
