"""Batch collation for SFT: one concatenated row (packed) or right padding (unpacked)."""
from __future__ import annotations

from typing import Sequence

import torch

from ..utils.labels import IGNORE_INDEX


class SftCollator:
    """DataLoader ``collate_fn`` for encoded or packed SFT rows.

    Packed mode concatenates every row of the batch into one row of shape
    ``[1, total]`` with ``position_ids`` restarting per sample and no padding;
    the model then gets ``attention_mask=None`` and transformers builds a
    block-diagonal causal mask from the restarts. The label at every restart is
    set to -100 so no token is trained to predict the next sample's first token.

    Unpacked mode right-pads to the longest row, with ``attention_mask`` and
    labels -100 on padding.

    Args:
        pad_token_id: Id written into padded positions (unpacked mode).
        packed: Whether to concatenate rows instead of padding them.
    """

    def __init__(self, pad_token_id: int, packed: bool):
        self.pad_token_id = pad_token_id
        self.packed = packed

    def __call__(self, rows: Sequence[dict]) -> dict[str, torch.Tensor]:
        if not rows:
            raise ValueError('SftCollator got an empty batch')
        return self._concat(rows) if self.packed else self._pad(rows)

    def __repr__(self) -> str:
        return f'SftCollator(pad_token_id={self.pad_token_id}, packed={self.packed})'

    @staticmethod
    def _concat(rows: Sequence[dict]) -> dict[str, torch.Tensor]:
        ids, labels, positions = [], [], []
        for row in rows:
            row_ids = torch.as_tensor(row['input_ids'], dtype=torch.long)
            ids.append(row_ids)
            labels.append(torch.as_tensor(row['labels'], dtype=torch.long))
            pos = row.get('position_ids')
            positions.append(torch.arange(len(row_ids)) if pos is None
                             else torch.as_tensor(pos, dtype=torch.long))
        input_ids = torch.cat(ids)[None]
        position_ids = torch.cat(positions)[None]
        label_row = torch.cat(labels)[None]
        label_row = label_row.masked_fill(position_ids == 0, IGNORE_INDEX)
        return {'input_ids': input_ids, 'labels': label_row, 'position_ids': position_ids}

    def _pad(self, rows: Sequence[dict]) -> dict[str, torch.Tensor]:
        for row in rows:
            if row.get('num_samples', 1) > 1:
                raise ValueError(
                    'a packed row reached SftCollator(packed=False); padding would let its '
                    'samples attend to each other: set packed=True in the collate_fn')
        longest = max(len(row['input_ids']) for row in rows)
        shape = (len(rows), longest)
        input_ids = torch.full(shape, self.pad_token_id, dtype=torch.long)
        labels = torch.full(shape, IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros(shape, dtype=torch.long)
        for i, row in enumerate(rows):
            n = len(row['input_ids'])
            input_ids[i, :n] = torch.as_tensor(row['input_ids'], dtype=torch.long)
            labels[i, :n] = torch.as_tensor(row['labels'], dtype=torch.long)
            attention_mask[i, :n] = 1
        return {'input_ids': input_ids, 'labels': labels, 'attention_mask': attention_mask}


def sft_collate_fn(rows: Sequence[dict], packed: bool = True,
                   pad_token_id: int = 0) -> dict[str, torch.Tensor]:
    """Function form of :class:`SftCollator` for configs.

    mmengine's Runner calls ``partial(type, **kwargs)(rows)``, so a collate spec's ``type``
    must be a function of the rows. The pad id is irrelevant to the loss (padded positions
    have attention_mask 0 and label -100), so 0 is a safe default.
    """
    return SftCollator(pad_token_id, packed)(rows)


def collate_rows(rows: Sequence[dict], row_type: str = 'sft',
                 packed: bool = True) -> dict[str, torch.Tensor]:
    """A config's ``collate_fn``: the collator of the dataset's row kind (``row_type``)."""
    from .pipeline import ROW_TYPES  # the registry lives with the pipeline
    return ROW_TYPES.get(row_type).collate(rows, packed)
