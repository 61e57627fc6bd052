"""SftDataset: the processed rows (memory-mapped Arrow) plus what hooks need to show them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from ..templates.chat_format import ChatFormat


class SftDataset:
    """A map-style dataset of encoded (or packed) rows.

    Rows are dicts of ``input_ids``, ``labels`` (and ``position_ids`` when packed). The
    tokenizer, the chat format the rows were rendered with and the statistics ride along for
    hooks and tools (the chat and export hooks read ``chat_format``: what was trained).
    """

    def __init__(self, data: datasets.Dataset, tokenizer: Any = None,
                 chat_format: ChatFormat | None = None, packed: bool = False,
                 max_length: int = 0, stats: dict | None = None):
        self.data = data.with_format('numpy')
        self.tokenizer, self.chat_format = tokenizer, chat_format
        self.packed, self.max_length = packed, max_length
        self.stats = stats or {}
        self.lengths = np.asarray(data['length'])

    @classmethod
    def load(cls, folder: str | Path, **kwargs: Any) -> 'SftDataset':
        """Load a saved dataset folder (memory mapped, no copy)."""
        folder = Path(folder)
        stats = json.loads((folder / 'stats.json').read_text())
        return cls(datasets.load_from_disk(str(folder)), stats=stats, **kwargs)

    @property
    def template(self) -> Any:
        """The prompt template the rows were rendered with (None: pre-training)."""
        return self.chat_format.template if self.chat_format else None

    @property
    def system(self) -> str | None:
        """The system text the rows were rendered with."""
        return self.chat_format.system if self.chat_format else None

    @property
    def metainfo(self) -> dict:
        """Shown by mmengine; also keeps its 'dataset has no metainfo' warning away."""
        return {'packed': self.packed, 'max_length': self.max_length, **self.stats}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> dict:
        return self.data[int(index)]
