"""Cache keys change with what changes the processed data."""
import os

from xtuner_like.dataset.cache import (cache_key, file_fingerprint, function_fingerprint,
                                       tokenizer_fingerprint)


def test_same_size_edit_with_the_mtime_put_back_changes_the_key(tmp_path, xl_home):
    """Issue 16: the key was size + mtime, so this edit served the stale cache."""
    path = tmp_path / 'a.jsonl'
    path.write_text('{"a": "1"}')
    st = os.stat(path)
    before = file_fingerprint(str(path))
    path.write_text('{"a": "2"}')                                     # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))               # mtime put back
    assert os.stat(path).st_size == st.st_size and os.stat(path).st_mtime_ns == st.st_mtime_ns
    assert file_fingerprint(str(path)) != before


def test_unchanged_files_are_not_read_again(tmp_path, xl_home, monkeypatch):
    import builtins

    from xtuner_like.dataset import cache
    path = tmp_path / 'b.jsonl'
    path.write_text('{"a": 1}')
    first = cache.content_hash(str(path))
    cache._HASHES.clear()                       # a new process: only the file on disk is left
    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, 'open', lambda f, *a, **k: opened.append(str(f)) or
                        real_open(f, *a, **k))
    assert cache.content_hash(str(path)) == first
    assert str(path) not in opened


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
