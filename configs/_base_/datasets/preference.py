# Preference pairs: load -> dataset_map_fn -> prompt rendered with the template -> two
# sequences per pair (prompt + chosen, prompt + rejected); only the replies are scored.
# Packed (as SFT), whole pairs fill rows of up to 2 * max_length tokens; a micro-batch of
# `batch_size` rows is concatenated into one row without padding; each sequence attends only
# to itself (position_ids restart per sequence). The dataset dict: common.py.
from mmengine.config import read_base

with read_base():
    from .common import *

dataset_map_fn = 'sharegpt_preference'  # or 'openai_preference', 'plain_preference', 'kto'
row_type = 'preference'             # 'kto' for unpaired rows {prompt, completion, label}
max_length = 1024                   # per sequence (prompt + one reply)
batch_size = 1                      # packed rows (unpacked: pairs) per micro-batch
# Held-out preference accuracy (PreferenceEvalHook, runtime/preference.py) scores the
# `holdout` rows of your data, or `eval_data_files`: e.g. holdout=0.1.
