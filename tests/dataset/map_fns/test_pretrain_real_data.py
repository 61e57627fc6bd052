"""pretrain map_fn through the whole pipeline on the real c4 (jsonl) and wiki (txt) files."""
from __future__ import annotations

from map_fn_pipeline import EOS, read_rows, pipeline  # noqa: F401 (fixture)


def test_c4_jsonl_every_token_trained(shared_data, pipeline):
    rows = read_rows(shared_data / 'c4_demo.jsonl')[:4]
    samples = pipeline(shared_data / 'c4_demo.jsonl', 'pretrain', prompt_template=None)
    assert len(samples) == 4
    for row, (text, spans) in zip(rows, samples):
        assert text == row['text'] + EOS and spans == [text]
    assert samples[0][1][0].startswith('Don’t think you need all the bells and whistles?')


def test_wiki_txt_one_document_per_line(shared_data, pipeline):
    lines = (shared_data / 'wiki_demo.txt').read_text().splitlines()
    samples = pipeline(shared_data / 'wiki_demo.txt', 'pretrain', max_rows=3,
                       prompt_template=None)
    assert [s for _, s in samples] == [[line + EOS] for line in lines[:3]]
    assert samples[0][0].startswith('Anarchism is a political philosophy and movement')
