"""Cache keys change with what changes the processed data."""
import os

from xtuner_like.dataset.cache import (cache_key, file_fingerprint, function_fingerprint,
                                       tokenizer_fingerprint)


def test_file_fingerprint_follows_edits(tmp_path):
    path = tmp_path / 'a.json'
    path.write_text('[1]')
    before = file_fingerprint(str(path))
    path.write_text('[1, 2]')
    os.utime(path, ns=(1, 1))
    assert file_fingerprint(str(path)) != before


def test_function_and_tokenizer_fingerprints(tiny_tokenizer):
    def f(row):
        return row

    def g(row):
        return {**row}
    assert function_fingerprint(f) != function_fingerprint(g)
    assert function_fingerprint(None) == 'none'
    assert tokenizer_fingerprint(tiny_tokenizer) == tokenizer_fingerprint(tiny_tokenizer)


def test_cache_key_is_stable_and_sensitive():
    assert cache_key(a=1, b=[1, 2]) == cache_key(b=[1, 2], a=1)
    assert cache_key(a=1) != cache_key(a=2)
