"""Dataset pipeline: the dataset schema, map_fns, templates, encoding, packing, collation."""
from .build import build_dataset, build_preference_dataset, build_sft_dataset
from .collate import SftCollator, collate_rows, sft_collate_fn
from .preference import PreferenceCollator, preference_collate_fn
from .prompts import prompt_collate_fn
from .samplers import LengthGroupedSampler
from .sft_dataset import SftDataset

__all__ = ['build_dataset', 'build_sft_dataset', 'build_preference_dataset', 'collate_rows',
           'SftCollator', 'sft_collate_fn', 'LengthGroupedSampler', 'SftDataset',
           'PreferenceCollator', 'preference_collate_fn', 'prompt_collate_fn']
