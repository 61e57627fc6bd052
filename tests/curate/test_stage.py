import pytest

from xtuner_like.curate.config import load_curate_config, stage_names
from xtuner_like.curate.pipeline import curate
from xtuner_like.curate.stage import CURATION_STAGES, ENABLED, Option, Stage, stages
from xtuner_like.curate.text import decode, sample_text
from xtuner_like.errors import ConfigError

from .conftest import SURVIVORS, survivors


def test_every_stage_is_registered_in_run_order_with_its_options():
    assert stage_names() == ('format', 'clean', 'exact_dedup', 'near_dedup', 'decontaminate',
                             'safe', 'split')
    for stage in stages():
        assert CURATION_STAGES.get(stage.name) is stage
        assert stage.problems(stage.defaults()) == []       # the defaults pass their checks


def test_option_checks():
    assert Option(0.5, fraction=True).problem(1.5).endswith('between 0 and 1')
    assert Option(0.5, fraction=True).problem(True)
    assert Option(None, fraction=True).problem(None) == ''
    assert Option('a', choices=('a', 'b')).problem('c') == "'c'; use one of ('a', 'b')"
    assert Option(1, check=lambda v: '' if v > 0 else 'positive').problem(0) == 'positive'


def drop_batch(batch: dict, *, word: str) -> dict:
    hit = [word in sample_text(s).lower() for s in decode(batch)]
    return {'_reason': ['has_word' if h else '' for h in hit],
            '_detail': [f'mentions {word!r}' if h else '' for h in hit]}


class WordStage(Stage):
    """A stage added in one place: its options and its runner."""

    name, order = 'word_filter', 15
    options = {'enabled': ENABLED, 'word': Option('paris', check=lambda v: '' if isinstance(
        v, str) else 'give a word')}

    def run(self, run, data, opts):
        return run.engine.map(data, drop_batch, 'word filter', word=opts['word']), None


@pytest.fixture
def word_stage(monkeypatch):
    monkeypatch.setattr(CURATION_STAGES, '_items', dict(CURATION_STAGES._items))
    CURATION_STAGES.register('word_filter', WordStage())


def test_a_registered_stage_is_configured_run_and_reported(word_stage, corpus, tmp_path):
    assert stage_names()[:3] == ('format', 'clean', 'word_filter')
    with pytest.raises(ConfigError, match='word_filter.word=give a word'):
        load_curate_config(None, {'word_filter.word': 3})
    report = curate(corpus, tmp_path / 'out', load_curate_config(None, {
        'word_filter.word': 'jane'}))
    assert {s.name: s.removed for s in report.stages}['word_filter'] == {'has_word': 1}
    assert survivors(tmp_path / 'out') == SURVIVORS - {('alpaca.json', 7)}
