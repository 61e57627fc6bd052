import random

import numpy as np
import pytest

from xtuner_like.curate.near_dedup import (band_keys, band_names, band_shapes, candidate_pairs,
                                           clusters, confirm, jaccard, lsh_params, shingle_batch,
                                           shingle_hashes, shingles, signature_batch)

from .conftest import batch, sample


def conv(text):
    return sample({'system': '', 'input': '', 'output': text})


@pytest.mark.parametrize('num_perm', [16, 64, 128, 256])
@pytest.mark.parametrize('threshold', [0.5, 0.6, 0.7, 0.8, 0.9])
def test_lsh_params_bound_the_miss_at_the_threshold_with_the_fewest_false_candidates(
        threshold, num_perm):
    def meet(shape, s):
        return 1 - (1 - s ** shape[1]) ** shape[0]
    b, r = lsh_params(threshold, num_perm, max_miss=0.02)
    assert b * r <= num_perm
    shapes = [(num_perm // k, k) for k in range(1, num_perm + 1)]
    sure = [s for s in shapes if 1 - meet(s, threshold) <= 0.02]
    if sure:
        assert 1 - meet((b, r), threshold) <= 0.02
        # of those, the one pairing dissimilar rows least often
        assert all(meet((b, r), threshold / 2) <= meet(s, threshold / 2) + 1e-12 for s in sure)
        # pairs above the threshold are missed even less often
        assert 1 - meet((b, r), min(1.0, threshold + 0.05)) < 1 - meet((b, r), threshold)
    else:
        assert 1 - meet((b, r), threshold) == min(1 - meet(s, threshold) for s in shapes)


def test_a_tighter_miss_bound_gives_more_bands_of_fewer_rows():
    loose, tight = lsh_params(0.7, 128, max_miss=0.2), lsh_params(0.7, 128, max_miss=0.001)
    assert tight[0] > loose[0] and tight[1] < loose[1]


def test_similar_rows_share_a_band_and_unrelated_rows_do_not():
    rng = random.Random(0)
    words = [f'w{i}' for i in range(2000)]
    base = [' '.join(rng.choices(words, k=80)) for _ in range(30)]
    edited = [t.replace(t.split()[40], 'changed', 1) for t in base]
    rows = [conv(t) for t in base + edited]
    opts = dict(by='conversation', shingle_size=3, num_perm=128, seed=1, threshold=0.7,
                max_miss=0.02)
    out = signature_batch(batch(rows, _id=list(range(60))), **opts)
    names = band_names(0.7, 128, 0.02)
    assert list(out) == ['_id', '_cjk', *names] and len(names) == max(
        b for b, _ in band_shapes(0.7, 128, 0.02))        # the CJK shape has more bands
    assert all(out[n].shape == (60,) and out[n].dtype == np.int64 for n in names)
    pairs = {tuple(p) for p in candidate_pairs(np.arange(60), [out[n] for n in names]).tolist()}
    assert {(i, i + 30) for i in range(30)} <= pairs
    assert all(b - a == 30 for a, b in pairs)


def test_band_keys_depend_on_every_value_of_the_band():
    sig = np.arange(12, dtype=np.uint32).reshape(1, 12)
    other = sig.copy()
    other[0, 5] += 1
    k1, k2 = band_keys(sig, 3, 4), band_keys(other, 3, 4)
    assert (k1[0] == k2[0]).tolist() == [True, False, True]


def test_candidate_pairs_are_stars_around_the_smallest_id():
    ids = np.array([5, 2, 9, 7])
    bands = np.array([[1, 4], [1, 5], [1, 6], [2, 6]])
    assert candidate_pairs(ids, bands.T).tolist() == [[2, 5], [2, 9], [7, 9]]
    assert candidate_pairs(ids, []).shape == (0, 2)


def test_clusters_join_confirmed_pairs_only():
    pairs = np.array([[1, 4], [4, 6], [2, 3], [7, 8]])
    groups = clusters(pairs, np.array([True, True, True, False]))
    assert groups == {1: [4, 6], 2: [3]}


@pytest.mark.parametrize('by', ['conversation', 'prompt'])
def test_shingles_and_jaccard(by):
    turns = sample({'system': '', 'input': 'A b, c', 'output': 'd e'})
    expected = {'a b c', 'b c d', 'c d e'} if by == 'conversation' else {'a b c'}
    assert shingles(turns, by, 3) == expected
    assert jaccard({1, 2, 3}, {2, 3, 4}) == 0.5 and jaccard(set(), set()) == 1.0


def test_confirm_keeps_pairs_whose_shingle_jaccard_reaches_the_threshold():
    rng = random.Random(1)
    words = [f'w{i}' for i in range(300)]
    texts = [' '.join(rng.choices(words, k=rng.randint(1, 60))) for _ in range(40)]
    texts += [' '.join(t.split()[:-k]) for t, k in zip(texts[:20], range(1, 21))]   # near copies
    rows = [conv(t) for t in texts]
    ids = np.arange(0, 2 * len(rows), 2)                     # ids need not be 0..n-1
    pairs = np.array([(a, b) for a in ids for b in ids if a < b])
    hashes = [shingle_hashes(r, 'conversation', 2) for r in rows]
    for threshold in (0.3, 0.7, 0.9):
        got = confirm(pairs, ids, hashes, threshold)
        sets = [shingles(r, 'conversation', 2) for r in rows]
        want = [jaccard(sets[a // 2], sets[b // 2]) >= threshold for a, b in pairs.tolist()]
        assert got.tolist() == want and any(want)


def test_shingle_hashes_are_the_sorted_set():
    turns = conv('a b a b c')
    got = shingle_hashes(turns, 'conversation', 2)
    assert len(got) == len(shingles(turns, 'conversation', 2)) == 3
    assert (np.diff(got) > 0).all() and got.dtype == np.int64
    assert len(shingle_hashes(conv(''), 'conversation', 2)) == 1     # empty text: one shingle


def test_shingle_batch_hashes_only_the_candidates():
    rows = [conv('a b c'), conv('d e f'), conv('g h')]
    out = shingle_batch(batch(rows, _id=[4, 7, 9]), ids=np.array([9, 4]),
                        by='conversation', shingle_size=2)
    assert out['_id'] == [4, 7, 9] and out['_shingles'][1] == []
    assert out['_shingles'][0] == shingle_hashes(rows[0], 'conversation', 2).tolist()
    assert out['_shingles'][2] == shingle_hashes(rows[2], 'conversation', 2).tolist()


def planted_near_duplicates(tmp_path, seed=0):
    """Rows with planted near duplicates of every kind the stage must find, and the (row,
    duplicated row) pairs: English replies edited to a word-set similarity of ~0.82,
    reply sentences reordered, Chinese replies with 5% of their characters changed."""
    import json
    rng = random.Random(seed)
    words = [f'w{i}' for i in range(5000)]
    hanzi = [chr(c) for c in range(0x4e00, 0x4e00 + 3000)]
    rows, pairs = [], []

    def add(row, of=None):
        rows.append(row)
        if of is not None:
            pairs.append((len(rows) - 1, of))
    for _ in range(20):
        reply = rng.sample(words, 60)
        base = len(rows)
        add({'instruction': ' '.join(rng.sample(words, 8)), 'output': ' '.join(reply)})
        edited = reply[:]
        for i in rng.sample(range(60), 6):                    # 62/74 of the words shared
            edited[i] = rng.choice(words)
        add({'instruction': rows[base]['instruction'], 'output': ' '.join(edited)}, base)
        sentences = [' '.join(reply[i:i + 10]) + '.' for i in range(0, 60, 10)]
        rng.shuffle(sentences)
        add({'instruction': rows[base]['instruction'], 'output': ' '.join(sentences)}, base)
    for _ in range(20):
        reply = rng.choices(hanzi, k=200)
        base = len(rows)
        add({'instruction': ''.join(rng.choices(hanzi, k=15)), 'output': ''.join(reply)})
        changed = reply[:]
        for i in rng.sample(range(200), 10):                  # 5% of the characters
            changed[i] = rng.choice(hanzi)
        add({'instruction': rows[base]['instruction'], 'output': ''.join(changed)}, base)
    path = tmp_path / 'near.jsonl'
    path.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows))
    return str(path), rows, pairs


def test_planted_near_duplicates_english_reordered_and_chinese(tmp_path):
    from xtuner_like.curate.config import load_curate_config
    from xtuner_like.curate.pipeline import curate
    path, rows, pairs = planted_near_duplicates(tmp_path)
    only = {f'{s}.enabled': False for s in ('clean', 'exact_dedup', 'safe', 'split')}
    curate([path], tmp_path / 'out', load_curate_config(None, {**only, 'output.removed': True}))
    import json
    removed = {json.loads(line)['row'] for line in
               (tmp_path / 'out' / 'removed.jsonl').read_text().splitlines()}
    assert removed == {row for row, _ in pairs}                # recall 1, precision 1


def test_word_similarity_is_the_jaccard_of_word_sets():
    a = conv('the cat sat on the mat today')
    b = conv('today the mat sat on the cat')                  # same words, other order
    assert jaccard(shingles(a, 'conversation', 1), shingles(b, 'conversation', 1)) == 1.0
    zh = sample({'input': '', 'output': '今天天气很好'})
    assert shingles(zh, 'conversation', 1) == {'今天', '天天', '天气', '气很', '很好'}


def test_compare_replies_only_or_prompts_only():
    a = sample({'input': 'Tell me about cats, please.', 'output': 'Cats purr and sleep a lot.'})
    b = sample({'input': 'What do you know of felines?', 'output': 'Cats purr and sleep a lot.'})
    same = jaccard(shingles(a, 'reply', 1), shingles(b, 'reply', 1))
    assert same == 1.0 and jaccard(shingles(a, 'prompt', 1), shingles(b, 'prompt', 1)) < 0.2


def test_the_cjk_threshold_allows_the_share_of_changed_tokens_the_word_threshold_does():
    from xtuner_like.curate.near_dedup import cjk_threshold
    assert cjk_threshold(0.8) == pytest.approx(0.653, abs=1e-3)
    assert cjk_threshold(0.8, 1) == pytest.approx(0.8)
    rng = random.Random(3)
    words = [f'w{i}' for i in range(5000)]
    hanzi = [chr(c) for c in range(0x4e00, 0x4e00 + 5000)]
    for t in (0.7, 0.8, 0.9):
        e = (1 - t) / (1 + t)                           # the share of tokens t allows
        k = round(e * 400)
        en, zh = rng.sample(words, 400), rng.sample(hanzi, 400)
        en2, zh2 = en[:], zh[:]
        for i in rng.sample(range(400), k):
            en2[i], zh2[i] = f'x{i}', chr(0x9000 + i)
        word_sim = jaccard(shingles(conv(' '.join(en)), 'reply', 1),
                           shingles(conv(' '.join(en2)), 'reply', 1))
        char_sim = jaccard(shingles(conv(''.join(zh)), 'reply', 1),
                           shingles(conv(''.join(zh2)), 'reply', 1))
        assert word_sim == pytest.approx(t, abs=0.01)
        assert char_sim == pytest.approx(cjk_threshold(t), abs=0.015)


def chinese_texts(rng, n, length, common=60):
    """Chinese-like replies: common characters repeat, so bigrams repeat, and punctuation,
    spaces, Latin words and digits come between them (as in real replies); a character
    changed there joins or splits tokens, so 5% of the characters changed moves more than
    10% of the bigrams."""
    chars = [chr(c) for c in range(0x4e00, 0x4e00 + common)] + ['，', '。', 'AI', ' ', '3'] * 4
    return [''.join(rng.choices(chars, k=length)) for _ in range(n)]


def test_chinese_replies_with_5_percent_of_characters_changed_are_near_duplicates(tmp_path):
    """Short replies (40-80 characters), compared by replies only: 5% of the characters
    changed keeps a bigram Jaccard of ~0.82, under the word threshold 0.8 for some, over
    the CJK threshold 0.653 for all; unrelated replies stay far below."""
    import json

    from xtuner_like.curate.config import load_curate_config
    from xtuner_like.curate.near_dedup import cjk_threshold
    from xtuner_like.curate.pipeline import curate
    rng = random.Random(5)
    hanzi = [chr(c) for c in range(0x4e00, 0x4e00 + 3000)]
    rows, dups, sims = [], set(), []
    for text in chinese_texts(rng, 40, 80):
        text = text[:rng.randint(40, 80)]
        changed = list(text)
        for i in rng.sample(range(len(text)), max(1, len(text) // 20)):
            changed[i] = rng.choice(hanzi)
        rows += [{'instruction': '回答', 'output': text},
                 {'instruction': '回答', 'output': ''.join(changed)}]
        dups.add(len(rows) - 1)
        sims.append(jaccard(*(shingles(conv(r['output']), 'reply', 1) for r in rows[-2:])))
    assert min(sims) >= cjk_threshold(0.8) and sum(s < 0.8 for s in sims) >= 5
    path = tmp_path / 'zh.jsonl'
    path.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows))
    only = {f'{s}.enabled': False for s in ('clean', 'exact_dedup', 'safe', 'split')}
    curate([str(path)], tmp_path / 'out', load_curate_config(
        None, {**only, 'output.removed': True, 'near_dedup.by': 'reply'}))
    removed = {json.loads(line)['row'] for line in
               (tmp_path / 'out' / 'removed.jsonl').read_text().splitlines()}
    assert removed == dups


def test_unrelated_chinese_rows_stay_far_below_the_cjk_threshold():
    from xtuner_like.curate.near_dedup import cjk_threshold
    rng = random.Random(6)
    texts = chinese_texts(rng, 200, 60, common=400)
    sets = [shingles(conv(t), 'reply', 1) for t in texts]
    worst = max(jaccard(sets[i], sets[j]) for i in range(200) for j in range(i + 1, 200))
    assert worst < cjk_threshold(0.8) / 3


def test_cjk_rows_and_word_rows_never_share_a_band_and_have_their_own_shape():
    (wb, wr), (cb, cr) = band_shapes(0.8, 128, 0.02)
    assert (wb, wr) == lsh_params(0.8, 128, 0.02) and cb > wb and cr < wr
    rows = [conv('今天天气很好，我们去公园散步吧'), conv('today the weather is fine'),
            conv('today the weather is fine')]
    out = signature_batch(batch(rows, _id=[0, 1, 2]), by='conversation', shingle_size=1,
                          num_perm=128, seed=1, threshold=0.8, max_miss=0.02)
    names = band_names(0.8, 128, 0.02)
    assert len(names) == cb
    keys = np.array([out[n] for n in names]).T                  # rows x bands
    assert (keys[1, :wb] == keys[2, :wb]).all()                  # same text, same bands
    assert len(set(keys[0]) & set(keys[1])) == 0                 # never with the CJK row
    assert len(set(keys[1, wb:]) & set(keys[2, wb:])) == 0       # beyond its bands: own keys


def test_confirm_uses_the_cjk_threshold_for_cjk_pairs():
    a, b = np.array([1, 2, 3, 4, 5, 6, 7]), np.array([1, 2, 3, 4, 5, 8, 9])   # J = 5/9
    pairs, ids = np.array([[0, 1], [2, 3]]), np.arange(4)
    got = confirm(pairs, ids, [a, b, a, b], 0.8, np.array([True, True, False, False]), 0.5)
    assert got.tolist() == [True, False]
