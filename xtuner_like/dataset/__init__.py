"""Dataset pipeline: map_fns, templates, encoding, packing, collation and samplers."""
from .build import build_sft_dataset
from .collate import SftCollator, sft_collate_fn
from .preference import PreferenceCollator, build_preference_dataset, preference_collate_fn
from .samplers import LengthGroupedSampler
from .sft_dataset import SftDataset

__all__ = ['build_sft_dataset', 'SftCollator', 'sft_collate_fn', 'LengthGroupedSampler',
           'SftDataset', 'PreferenceCollator', 'build_preference_dataset',
           'preference_collate_fn']
