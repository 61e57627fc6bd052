# Preference pairs: load -> dataset_map_fn -> prompt rendered with the template -> two
# sequences per pair (prompt + chosen, prompt + rejected); only the replies are scored.
# A micro-batch of `batch_size` pairs is concatenated into one row without padding; each
# sequence attends only to itself (position_ids restart per sequence). Not packed by default:
# on an idle 2-core CPU, 2 pairs a step ran at 1.71x trl's tokens/s against 1.43x for pairs
# packed into rows of 2 * max_length (fewer tokens a step to pay each optimizer step;
# tools/bench_preference.py, docs/performance.md); pack_to_max_length=True packs them as SFT
# does (bounded rows, a little less memory). The dataset dict: common.py.
from mmengine.config import read_base

with read_base():
    from .common import *

dataset_map_fn = 'sharegpt_preference'  # or 'openai_preference', 'plain_preference', 'kto'
row_type = 'preference'             # 'kto' for unpaired rows {prompt, completion, label}
max_length = 1024                   # per sequence (prompt + one reply)
pack_to_max_length = False
batch_size = 2                      # pairs per micro-batch (packed: rows of 2 * max_length)
# Held-out preference accuracy (PreferenceEvalHook, runtime/preference.py) scores the
# `holdout` rows of your data, or `eval_data_files`: e.g. holdout=0.1.
