import json

import pytest

from xtuner_like.curate.dataset import build_curated_dataset, curated_folder
from xtuner_like.dataset.build import build_sft_dataset
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


def tool_call_rows(n: int = 12) -> list[dict]:
    """Distinct OpenAI-messages rows with tools, calls (object and JSON-text arguments),
    results (text and JSON), reasoning; row 5 is bad (an empty reply), row 9 repeats row 2."""
    import random
    rng = random.Random(0)
    words = [f'w{i}' for i in range(500)]
    rows = []
    for i in range(n):
        city = ' '.join(rng.choices(words, k=2))
        args = {'city': city, 'days': i % 4 + 1} if i % 2 else json.dumps({'city': city})
        result = {'temp_c': 10 + i, 'sky': rng.choice(words)} if i % 3 else f'{10 + i} C'
        rows.append({
            'messages': [
                {'role': 'system', 'content': 'You check the weather.'},
                {'role': 'user', 'content': f'Weather in {city}? ' + ' '.join(
                    rng.choices(words, k=12))},
                {'role': 'assistant', 'content': None,
                 'reasoning_content': 'I will call the tool. ' + ' '.join(rng.choices(words, k=6)),
                 'tool_calls': [{'type': 'function', 'function': {'name': 'weather',
                                                                  'arguments': args}}]},
                {'role': 'tool', 'content': result},
                {'role': 'assistant', 'content': f'In {city} it is {10 + i} C. ' + ' '.join(
                    rng.choices(words, k=20))}],
            'tools': [{'type': 'function', 'function': {
                'name': 'weather', 'description': 'Current weather of a city.',
                'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}}}}]})
    rows[5]['messages'][-1]['content'] = ''
    rows[9] = rows[2]
    return rows


def token_ids(dataset) -> list[tuple[list[int], list[int]]]:
    return [(list(dataset[i]['input_ids']), list(dataset[i]['labels']))
            for i in range(len(dataset))]


def assert_curated_trains_as_raw(tokenizer, path, map_fn, template, curate, tmp_path):
    """Curate -> train gives exactly the ids of training on the raw file, row for row."""
    common = dict(prompt_template=template, max_length=1 << 15, pack_to_max_length=False,
                  cache_dir=str(tmp_path))
    raw = build_sft_dataset(tokenizer, data_files=path, dataset_map_fn=map_fn,
                            on_bad_row='skip', **common)
    folder = curated_folder(path, {'format': {'map_fn': map_fn, 'prompt_template': template},
                                   'split': {'enabled': False}, **curate}, str(tmp_path))
    report = json.loads((folder / 'report.json').read_text())
    bad = {int(e['where'].rsplit(' ', 1)[1]) - path.endswith('.jsonl')
           for e in report['examples'] if e['reason'] == 'format_error'}
    kept = [json.loads(line)['row'] for line in (folder / 'train.jsonl').read_text().splitlines()]
    good = [r for r in range(report['rows_in']) if r not in bad]
    by_row = dict(zip(good, token_ids(raw)))
    curated = build_curated_dataset(tokenizer, curated_dir=str(folder), **common)
    assert token_ids(curated) == [by_row[r] for r in kept]
    return report, kept


def test_curate_then_train_gives_the_token_ids_of_the_raw_tool_call_file(tiny_tokenizer,
                                                                         tmp_path):
    path = tmp_path / 'tools.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in tool_call_rows()))
    report, kept = assert_curated_trains_as_raw(tiny_tokenizer, str(path), 'openai',
                                                'qwen3_chat', {}, tmp_path)
    removed = {s['name']: s['removed'] for s in report['stages']}
    assert removed['format'] == {'format_error': 1} and removed['exact_dedup'] == {
        'exact_duplicate': 1}
    assert kept == [r for r in range(12) if r not in (5, 9)]


def test_curate_then_train_on_the_shared_glaive_tool_calls(tiny_tokenizer, shared_data,
                                                           tmp_path):
    # safe off: redaction changes the text on purpose
    report, kept = assert_curated_trains_as_raw(
        tiny_tokenizer, str(shared_data / 'glaive_toolcall_en_demo.json'), 'sharegpt', 'chatml',
        {'safe': {'enabled': False}}, tmp_path)
    assert len(kept) > 200
