"""Tests for xtuner_like/dataset/spec.py: every dataset option declared once, and what reads it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xtuner_like.config import load_config
from xtuner_like.dataset.build import build_dataset
from xtuner_like.dataset.pipeline import PipelineSpec
from xtuner_like.dataset.spec import (BY_NAME, DEFAULT_TEMPLATE, OPTIONS, SOURCE_KEYS,
                                      chat_format, chat_format_of, check_options, eval_options,
                                      held_out)
from xtuner_like.errors import ConfigError
from xtuner_like.utils.build import unknown_kwargs

ROOT = Path(__file__).resolve().parents[2]
RECIPE = 'smollm2_135m_instruct_lora_alpaca'


def test_every_option_is_a_field_of_the_pipeline_spec_with_its_default():
    fields = PipelineSpec.__dataclass_fields__
    for option in OPTIONS:
        if option.field == '':
            continue       # resolved into files / map_fn / chat_format
        assert fields[option.field_name].default == option.default, option.name
    assert set(fields) == {'files', 'map_fn', 'chat_format'} | {
        o.field_name for o in OPTIONS if o.field != ''}


def test_defaults_are_filled_in_and_sources_inherit_the_shared_options():
    one, = check_options({'max_length': 64})
    assert one == {**{o.name: o.default for o in OPTIONS}, 'max_length': 64}
    a, b = check_options({'system': 'S', 'max_length': 64},
                         [dict(data_files='a'), dict(data_files='b', system='T', ratio=2)])
    assert (a['system'], b['system'], b['ratio'], a['max_length']) == ('S', 'T', 2, 64)


def test_every_problem_is_reported_at_once_with_close_matches():
    with pytest.raises(ConfigError) as info:
        check_options({'max_lenght': 3, 'on_bad_row': 'ignore', 'max_length': '9',
                       'holdout': 1.5, 'row_type': 'pair'},
                      [dict(ratio=0), dict(max_length=5), 'x'])
    text = str(info.value)
    for part in ["unknown option 'max_lenght'; did you mean 'max_length'?",
                 "on_bad_row='ignore' use one of ('error', 'skip')",
                 "max_length='9' must be int", 'holdout=1.5 a share is in [0, 1)',
                 "row_type='pair' use one of", 'sources[0]: ratio=0 must be > 0',
                 "sources[1]: unknown option 'max_length'", 'sources[2]: must be a dict']:
        assert part in text, part
    with pytest.raises(ConfigError, match='sources must be a non-empty list'):
        check_options({}, [])


def test_a_source_takes_only_per_source_options():
    assert 'data_files' in SOURCE_KEYS and 'ratio' in SOURCE_KEYS
    assert not {'max_length', 'row_type', 'pack_to_max_length'} & set(SOURCE_KEYS)


def test_held_out_rows_are_evenly_spread():
    assert [i for i, h in enumerate(held_out(20, 0.2)) if h] == [4, 9, 14, 19]
    assert sum(held_out(7, 3)) == 3 and sum(held_out(3, 0.01)) == 1 and not any(held_out(5, 0))
    with pytest.raises(ConfigError, match='holds out all 4 rows'):
        held_out(4, 4)


def test_the_eval_part_of_a_dataset_dict():
    train = dict(type='x', data_files='a.json', holdout=0.1, max_length=9)
    assert eval_options(train) == {**train, 'part': 'eval'}
    assert eval_options(dict(train, holdout=0)) is None
    assert eval_options(dict(train, holdout=0, sources=[dict(holdout=3)]))['part'] == 'eval'
    other = eval_options(dict(train, eval_data_files='e.json', max_rows=5))
    assert (other['data_files'], other['holdout'], other['part'], other['max_rows']) == (
        'e.json', 0, 'train', None)
    source, = check_options(dict(holdout=0.1, eval_data_files='e.json'))
    assert source['holdout'] == 0       # evaluating on other files: every row is trained


def test_the_chat_format_of_a_dataset_dict_and_of_a_config():
    assert chat_format({}).name == DEFAULT_TEMPLATE
    assert chat_format({'prompt_template': None}).template is None


@pytest.mark.parametrize('options', [
    {'prompt_template': 'llama3_chat', 'system': 'Be brief, please.'},
    {'train_dataloader.dataset.prompt_template': 'llama3_chat',
     'train_dataloader.dataset.system': 'Be brief, please.'}])
def test_chat_format_of_reads_what_the_dataset_renders(options):
    """An override of the knob and of the dataset dict give the same format: the trained one."""
    fmt = chat_format_of(load_config(RECIPE, options))
    assert fmt.name == 'llama3_chat' and fmt.system == 'Be brief, please.'


def test_the_config_checker_knows_every_option():
    assert unknown_kwargs(build_dataset, {o.name: o.default for o in OPTIONS}) == []
    assert unknown_kwargs(build_dataset, {'max_lenght': 1}) == [
        "'max_lenght'; did you mean 'max_length'?"]


NEW_OPTION = """    Option('min_reply_chars', 0, (int,), 'a test option', check=_positive_or_zero),
"""
PROBE = """
import json, sys
from xtuner_like.dataset.build import build_dataset, cache_target, dataset_specs
from xtuner_like.dataset.check import check_dataset
from xtuner_like.errors import ConfigError
from xtuner_like.utils.build import unknown_kwargs
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
common = dict(data_files=sys.argv[2], dataset_map_fn='alpaca', max_length=64)
spec, = dataset_specs(min_reply_chars=3, **common)
other, = dataset_specs(**common)
try:
    dataset_specs(min_reply_chars=-1, **common)
    bad = None
except ConfigError as exc:
    bad = str(exc)
ds = build_dataset(tok, sources=[dict(data_files=sys.argv[2], min_reply_chars=2)],
                   cache_dir=sys.argv[3], **{k: v for k, v in common.items() if k != 'data_files'})
report = check_dataset(dict(type=build_dataset, tokenizer=tok, min_reply_chars=5, **common))
print(json.dumps({
    'field': spec.min_reply_chars, 'default': other.min_reply_chars, 'bad': bad,
    'keyed': cache_target(spec, tok, 'c') != cache_target(other, tok, 'c'),
    'near_miss': unknown_kwargs(build_dataset, {'min_reply_char': 1}),
    'built': len(ds), 'checked': report.rows}))
"""


def test_adding_an_option_touches_only_the_schema(tmp_path, tiny_model_dir):
    """A copy of the package with ONE new Option line in spec.py: the builder takes it (per
    source too), checks it, the pipeline spec has it, the cache key holds it, the config
    checker suggests it and check-custom-dataset runs with it."""
    copy = tmp_path / 'pkg'
    shutil.copytree(ROOT / 'xtuner_like', copy / 'xtuner_like',
                    ignore=shutil.ignore_patterns('__pycache__'))
    spec_py = copy / 'xtuner_like' / 'dataset' / 'spec.py'
    text = spec_py.read_text()
    anchor = "    Option('seed', 0,"
    assert anchor in text
    spec_py.write_text(text.replace(anchor, NEW_OPTION + anchor).replace(
        'def _positive(', 'def _positive_or_zero(value):\n'
        "    return None if value >= 0 else 'must be >= 0'\n\n\ndef _positive("))
    data = tmp_path / 'a.json'
    data.write_text(json.dumps([{'instruction': 'Hi', 'output': 'Hello.'}] * 3))
    env = {**os.environ, 'PYTHONPATH': str(copy)}
    out = subprocess.run([sys.executable, '-c', PROBE, str(tiny_model_dir), str(data),
                          str(tmp_path / 'cache')], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {'field': 3, 'default': 0, 'keyed': True, 'built': 1, 'checked': 3,
                      'bad': 'dataset: min_reply_chars=-1 must be >= 0',
                      'near_miss': ["'min_reply_char'; did you mean 'min_reply_chars'?"]}


def test_every_option_is_documented():
    assert all(o.doc and o.name == n for n, o in BY_NAME.items())
