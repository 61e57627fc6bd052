"""A small hand-made corpus in two formats whose surviving rows are known."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

PHOTO = ('Photosynthesis is the process by which green plants and some other organisms use '
         'sunlight to synthesize foods from carbon dioxide and water, generating oxygen as a '
         'by-product that most life on Earth depends on every single day of the year')

ALPACA = [
    {'instruction': 'What is the capital of France?', 'input': '',
     'output': 'Paris is the capital of France.'},                       # 0 kept
    {'instruction': 'what is the capital of   FRANCE', 'input': '',
     'output': 'Paris is the capital of France!!'},                      # 1 exact dup of 0
    {'instruction': 'Explain photosynthesis.', 'input': '', 'output': PHOTO},  # 2 kept
    {'instruction': 'Explain photosynthesis.', 'input': '',
     'output': PHOTO.replace('green plants', 'blue plants')},            # 3 near dup of 2
    {'instruction': 'Say nothing.', 'input': '', 'output': '   '},        # 4 no_reply
    {'instruction': 'Advertise.', 'input': '', 'output': 'buy now ' * 30},  # 5 repetition
    {'instruction': 'Draw.', 'input': '', 'output': '@#$%^&*()!@#$%^&*(){}[]<>'},  # 6 non_text
    {'instruction': 'How do I reach Jane?', 'input': '',
     'output': 'Email jane.doe@example.org or call +1 415-555-0132.'},   # 7 kept, redacted
]
OPENAI = [
    {'messages': [{'role': 'system', 'content': 'Be brief.'},
                  {'role': 'user', 'content': 'Name a primary color.'},
                  {'role': 'assistant', 'content': 'Red.'}]},             # 0 kept
    {'messages': [{'role': 'user', 'content': 'Hello?'}]},               # 1 format_error
    {'messages': [{'role': 'user', 'content': 'What is the capital of France?'},
                  {'role': 'assistant', 'content': 'Paris is the capital of France.'}]},
                                                                          # 2 exact dup of A0
]
# (file, row) of the rows that survive the default stages.
SURVIVORS = {('alpaca.json', 0), ('alpaca.json', 2), ('alpaca.json', 7), ('openai.jsonl', 0)}


@pytest.fixture
def corpus(tmp_path: Path) -> list[str]:
    """Paths of the hand-made corpus: an Alpaca json list and an OpenAI-messages jsonl."""
    alpaca, openai = tmp_path / 'alpaca.json', tmp_path / 'openai.jsonl'
    alpaca.write_text(json.dumps(ALPACA))
    openai.write_text(''.join(json.dumps(r) + '\n' for r in OPENAI))
    return [str(alpaca), str(openai)]


def survivors(out_dir: Path, split: str | None = None) -> set[tuple[str, int]]:
    """(file name, row) of every written row (of one split, or of all)."""
    found = set()
    for path in sorted(out_dir.glob('*.jsonl')):
        if split is None or path.stem == split:
            found |= {(Path(r['source']).name, r['row'])
                      for r in map(json.loads, path.read_text().splitlines())}
    return found


def sample(*turns: dict, **extra) -> dict:
    """A curated sample: ``{'conversation': [turns]}`` plus ``extra`` keys (a pair's replies)."""
    return {'conversation': list(turns), **extra}


def batch(samples: list, **columns) -> dict:
    """A batch of the curation columns: samples as the JSON text the engines carry."""
    return {'sample': [json.dumps(s) for s in samples], **columns}
