import json

import numpy as np

from xtuner_like.curate.decontaminate import (contaminated_batch, eval_index, eval_texts,
                                             ngram_hashes, tokenize, window_hits)

from .conftest import batch, sample

LONG = ' '.join(f'word{i}' for i in range(30))


def conv(text):
    return sample({'system': '', 'input': 'Q', 'output': text})


def test_rows_sharing_a_long_ngram_are_marked():
    index = eval_index([LONG], 13, 8)
    assert index.sizes == [13] and len(index.windows) == 30 - 13 + 1
    inside = 'Intro. ' + ' '.join(LONG.split()[5:20]) + ' outro'
    partial = ' '.join(LONG.split()[:12])                       # only 12 words in common
    out = contaminated_batch(batch([conv(inside), conv(partial), conv('x')]), index=index)
    assert out['_reason'] == ['contaminated', '', '']


def test_short_eval_items_are_matched_at_their_own_length():
    short = 'what is the boiling point of water at sea level'   # 10 words
    index = eval_index([short, 'too short'], 13, 8)
    assert index.sizes == [10]
    out = contaminated_batch(batch([conv('So: ' + short.upper() + '?')]), index=index)
    assert out['_reason'] == ['contaminated']


def test_ngram_hashes_differ_by_size():
    assert set(ngram_hashes('a b c d', [2])).isdisjoint(ngram_hashes('a b c d', [3]))


def test_window_hashes_are_the_same_wherever_the_window_is():
    assert np.array_equal(ngram_hashes('a b c d', [2]), np.concatenate(
        [ngram_hashes('a b', [2]), ngram_hashes('b c', [2]), ngram_hashes('c d', [2])]))
    assert np.array_equal(ngram_hashes('我爱北京', [1], [2]), np.concatenate(
        [ngram_hashes('我爱', [1], [2]), ngram_hashes('爱北', [1], [2]),
         ngram_hashes('北京', [1], [2])]))
    assert len(ngram_hashes('a b c d e', [2, 4])) == 4 + 2
    assert len(ngram_hashes('a b', [3])) == 0
    # a window is its words, not its characters: 'ab c' is not 'a bc'
    assert set(ngram_hashes('ab c', [2])).isdisjoint(ngram_hashes('a bc', [2]))


def test_tokens_of_many_texts_never_run_into_each_other():
    toks = tokenize(['a b', '', '你好 吗', 'c'], [False, False, True, False])
    assert toks.row.tolist() == [0, 0, 2, 2, 2, 3]
    assert toks.cjk.tolist() == [False, False, True, True, True, False]
    index = eval_index(['b c d e f g'], 13, 6)
    texts = ['a b c', 'd e f g', 'b c d e f g', '']
    assert window_hits(texts, [False] * 4, index).tolist() == [False, False, True, False]


def test_every_window_size_is_checked_after_its_anchor():
    """Eval pieces of 6 and 8 words: the anchor is the first 6 words of each window; a row
    holding the first 6 words of the 8-word piece but not the rest is not contaminated."""
    six, eight = 'one two three four five six', 'alpha beta gamma delta eps zeta eta theta'
    index = eval_index([six, eight], 13, 6)
    assert index.sizes == [6, 8] and len(index.anchors) == 2
    rows = ['x ' + eight + ' y', 'x alpha beta gamma delta eps zeta y', 'so ' + six]
    assert window_hits(rows, [False] * 3, index).tolist() == [True, False, True]


def eval_file(tmp_path, rows):
    path = tmp_path / 'eval.jsonl'
    path.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows))
    return [str(path)]


def test_a_short_eval_prompt_copied_with_another_answer_is_caught(tmp_path):
    files = eval_file(tmp_path, [{'instruction': 'Name the largest planet of the solar system.',
                                  'output': 'Jupiter is the largest planet.'}])
    texts, prompts = eval_texts(files, None, 'conversation')
    index = eval_index(texts, 13, 6, prompts)
    copied = sample({'input': 'Name the largest planet of the solar system.',
                     'output': 'Saturn, I believe, but I may be wrong about it.'})
    other = sample({'input': 'Name the largest moon of the solar system.', 'output': 'Ganymede.'})
    out = contaminated_batch(batch([copied, other]), index=index)
    assert out['_reason'] == ['contaminated', '']


def test_prompt_only_mode_ignores_replies(tmp_path):
    answer = 'The mitochondria produce most of the energy that a cell uses every day.'
    files = eval_file(tmp_path, [{'instruction': 'What do mitochondria do in a cell?',
                                  'output': answer}])
    texts, prompts = eval_texts(files, None, 'prompt')
    by_prompt = eval_index(texts, 13, 6, prompts)
    same_reply = sample({'input': 'Tell me something about biology.', 'output': answer})
    same_prompt = sample({'input': 'What do mitochondria do in a cell?', 'output': 'Energy.'})
    out = contaminated_batch(batch([same_reply, same_prompt]), index=by_prompt, by='prompt')
    assert out['_reason'] == ['', 'contaminated']


def test_chinese_eval_text_is_matched_by_characters():
    zh = '请解释为什么天空在晴朗的白天看起来是蓝色的'
    index = eval_index([zh], 13, 6)
    assert index.cjk_sizes == [len(zh)] and index.sizes == []          # 21 characters
    hit = sample({'input': '问题：' + zh + '？', 'output': '因为瑞利散射。'})
    miss = sample({'input': '请解释为什么大海看起来是蓝色的', 'output': '因为反射。'})
    assert contaminated_batch(batch([hit, miss]), index=index)['_reason'] == [
        'contaminated', '']


def test_the_floor_counts_cjk_characters_not_words():
    """An 8-character Chinese prompt (about four words) is over the floor of 6: indexed by
    its own length, so it is found inside a longer training prompt."""
    zh = '写一首关于春天的诗'                                          # 9 characters
    index = eval_index([zh, '你好'], 13, 6)
    assert index.cjk_sizes == [9]
    inside = sample({'input': '请' + zh + '，要求押韵。', 'output': '春风又绿江南岸。'})
    apart = sample({'input': '写一首关于秋天的诗', 'output': '落叶。'})
    assert contaminated_batch(batch([inside, apart]), index=index)['_reason'] == [
        'contaminated', '']
    assert len(ngram_hashes(zh, [4], [9])) == 1 and len(ngram_hashes(zh, [4])) == 2


def test_a_very_short_eval_prompt_copied_as_the_whole_prompt_is_caught(tmp_path):
    """Under the floor (5 characters; 3 words) windows would match everywhere; a training
    prompt equal to the eval prompt (case, spaces, punctuation ignored) is still caught."""
    files = eval_file(tmp_path, [{'instruction': '写一首诗。', 'output': '床前明月光。'},
                                 {'instruction': 'Tell a joke.', 'output': 'Knock knock.'}])
    texts, prompts = eval_texts(files, None, 'conversation')
    index = eval_index(texts, 13, 6, prompts)
    assert index.sizes == index.cjk_sizes == [] and len(index.prompts) == 2
    rows = [sample({'input': '写一首诗', 'output': '春眠不觉晓，处处闻啼鸟。'}),
            sample({'input': 'tell a JOKE', 'output': 'Why did the chicken cross the road?'}),
            sample({'input': '请写一首诗，关于大海。', 'output': '海浪。'}),   # longer prompt
            sample({'input': 'Tell a joke about cats.', 'output': 'Meow.'})]
    assert contaminated_batch(batch(rows), index=index)['_reason'] == [
        'contaminated', 'contaminated', '', '']
    # replies are not compared whole: a short answer says nothing of the question
    assert contaminated_batch(batch([sample({'input': 'Q?', 'output': 'Knock knock.'})]),
                              index=index)['_reason'] == ['']
