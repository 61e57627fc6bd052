"""Refuse rows that are not SFT data: preference pairs (DPO/ORPO) and KTO rows.

Such a row would otherwise pass an SFT map_fn: a ShareGPT DPO row trained its ``chosen``
reply and silently dropped ``rejected``; a KTO row with ``label: false`` trained the reply
the data marks as undesirable.
"""
from __future__ import annotations

from ..errors import DatasetFormatError

PREFERENCE_KEYS = ('chosen', 'rejected')
HOW = ('an SFT recipe trains one reply per turn; train this file with a preference recipe '
       '(DPO / ORPO / KTO) instead, or drop those columns to train the conversation as SFT on '
       'purpose')


def refuse_non_sft_row(row: dict) -> None:
    """Raise DatasetFormatError when ``row`` is a preference pair or a KTO row.

    A column is counted only when the row holds a value (datasets fills missing columns
    with None); a KTO label is a boolean ``label`` (another ``label`` column is left alone).
    """
    found = [k for k in PREFERENCE_KEYS if row.get(k) is not None]
    if found:
        raise DatasetFormatError(f'row holds {found} (a preference pair), not SFT data; {HOW}')
    if isinstance(row.get('label'), bool):
        raise DatasetFormatError(f"row holds a boolean 'label' (a KTO row: label={row['label']}"
                                 f' marks the reply as {"desirable" if row["label"] else "undesirable"}), '
                                 f'not SFT data; {HOW}')
