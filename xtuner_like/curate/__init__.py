"""Data curation: format -> clean -> dedup -> decontaminate -> safe -> split, with a report.

``xtuner-like curate`` runs :func:`~.pipeline.curate`; recipes use
:func:`~.dataset.build_curated_dataset`.
"""
from .dataset import build_curated_dataset

__all__ = ['build_curated_dataset']
