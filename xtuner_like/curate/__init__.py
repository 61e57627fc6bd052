"""Data curation: format -> clean -> dedup -> decontaminate -> safe -> split, with a report."""
