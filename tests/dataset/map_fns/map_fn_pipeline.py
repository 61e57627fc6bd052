"""Run a map_fn through the whole pipeline on a real file and read back what is trained."""
from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path

import pytest

from xtuner_like.dataset import build_sft_dataset
from xtuner_like.dataset.encode import IGNORE_INDEX

EOS = '<|im_end|>'  # the tiny tokenizer's eos


def read_rows(path: Path) -> list[dict]:
    if path.suffix == '.jsonl':
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return json.loads(path.read_text())


@pytest.fixture
def pipeline(tiny_tokenizer, tmp_path):
    """pipeline(path, map_fn, **kwargs) -> [(full text, [trained spans])] per sample."""
    def run(path, dataset_map_fn, max_rows=4, prompt_template='chatml', **kwargs):
        ds = build_sft_dataset(tiny_tokenizer, data_files=str(path),
                               dataset_map_fn=dataset_map_fn, prompt_template=prompt_template,
                               max_length=1 << 20, pack_to_max_length=False,
                               max_rows=max_rows, cache_dir=str(tmp_path), **kwargs)
        out = []
        for i in range(len(ds)):
            ids, labels = ds[i]['input_ids'].tolist(), ds[i]['labels'].tolist()
            spans = [tiny_tokenizer.decode([ids[k] for k in run_])
                     for trained, run_ in groupby(range(len(ids)),
                                                  key=lambda k: labels[k] != IGNORE_INDEX)
                     for run_ in [list(run_)] if trained]
            out.append((tiny_tokenizer.decode(ids), spans))
        return out
    return run


def check_docstring(fn) -> None:
    """A map_fn's docstring shows its data: 'before -> after' and a passing example."""
    import doctest
    import importlib
    assert '->' in fn.__doc__.splitlines()[0] and '>>>' in fn.__doc__
    result = doctest.testmod(importlib.import_module(fn.__module__),
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def check_column_map_fn(fn, row: dict, conversation: list[dict]) -> None:
    """A one-turn column map_fn: ``row`` gives ``conversation``, rows without its columns
    fail with a message that says how to fix them, and its docstring example passes."""
    from xtuner_like.errors import DatasetFormatError
    assert fn(row) == {'conversation': conversation}
    with pytest.raises(DatasetFormatError, match='rename the columns or pick another'):
        fn({'unrelated': 'x'})
    check_docstring(fn)
