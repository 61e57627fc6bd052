# UltraFeedback binarized (online: the hub id; offline: data_files=<local parquet/json>):
# {'prompt': str, 'chosen': [user, assistant], 'rejected': [user, assistant]}.
from mmengine.config import read_base

with read_base():
    from .preference import *

data_path = 'HuggingFaceH4/ultrafeedback_binarized'
data_split = 'train_prefs'
dataset_map_fn = 'openai_preference'
max_length = 1024
batch_size = 2
