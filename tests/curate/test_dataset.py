import pytest

from xtuner_like.curate.dataset import build_curated_dataset, curated_folder
from xtuner_like.errors import ConfigError

from .conftest import SURVIVORS


def test_curate_in_a_dataset_spec_is_cached_and_feeds_both_splits(corpus, tiny_tokenizer,
                                                                  tmp_path):
    kw = dict(data_files=corpus, curate={'split': {'eval_count': 1}}, cache_dir=str(tmp_path),
              max_length=1024, pack_to_max_length=False)
    train = build_curated_dataset(tiny_tokenizer, **kw)
    val = build_curated_dataset(tiny_tokenizer, split='eval', **kw)
    assert (len(train), len(val)) == (len(SURVIVORS) - 1, 1)
    folder = curated_folder(corpus, {'split': {'eval_count': 1}}, str(tmp_path))
    stamp = (folder / 'report.json').stat().st_mtime_ns
    build_curated_dataset(tiny_tokenizer, **kw)                 # cached: not curated again
    assert (folder / 'report.json').stat().st_mtime_ns == stamp
    other = curated_folder(corpus, {'split': {'eval_count': 2}}, str(tmp_path))
    assert other != folder                                      # the config is in the key


def test_a_curated_folder_can_be_given_directly(corpus, tiny_tokenizer, tmp_path):
    folder = curated_folder(corpus, {'split': {'enabled': False}}, str(tmp_path))
    train = build_curated_dataset(tiny_tokenizer, curated_dir=str(folder), cache_dir=str(tmp_path),
                                  max_length=1024)
    assert train.stats['samples'] == len(SURVIVORS)
    with pytest.raises(ConfigError, match="has no 'eval' split"):
        build_curated_dataset(tiny_tokenizer, curated_dir=str(folder), split='eval',
                              cache_dir=str(tmp_path))


@pytest.mark.parametrize('kwargs', [{}, {'curate': {}, 'curated_dir': 'x'}])
def test_exactly_one_source(tiny_tokenizer, kwargs):
    with pytest.raises(ConfigError, match='give curate=dict'):
        build_curated_dataset(tiny_tokenizer, **kwargs)
