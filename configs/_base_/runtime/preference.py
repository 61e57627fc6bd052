# The default runtime plus held-out preference accuracy (before/after training, and every
# `preference_eval_freq` iterations) of the dataset base's `eval_dataset` (None: off).
from mmengine.config import read_base
from xtuner_like.engine.hooks import PreferenceEvalHook

with read_base():
    from .default import *

preference_eval_freq = None
preference_eval_batch_size = 8

custom_hooks = custom_hooks + [
    dict(type=PreferenceEvalHook, dataset='${eval_dataset}',
         every_n_iters='${preference_eval_freq}', batch_size='${preference_eval_batch_size}')]
