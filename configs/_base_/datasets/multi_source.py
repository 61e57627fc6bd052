# Several datasets in one recipe: `sources` lists them, each with its own data and
# dataset_map_fn (and optionally prompt_template, system, max_rows and a sampling `ratio`);
# each is processed (and cached) on its own, sampled by ratio, and all are concatenated and
# packed together. Any row kind mixes (row_type). The dataset dict: common.py.
from mmengine.config import read_base

with read_base():
    from .common import *

sources = []                        # [dict(data_files=..., dataset_map_fn=..., ratio=1.0), ...]
system = None                       # default system text (a source's own `system` wins)
