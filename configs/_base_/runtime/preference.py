# The default runtime plus optional precomputed reference log-probs and held-out preference
# accuracy (before/after training, and every `preference_eval_freq` iterations) on the
# training dataset's held-out rows (`holdout`) or its `eval_data_files` (neither: off).
from mmengine.config import read_base
from xtuner_like.engine.hooks import PrecomputeReferenceHook, PreferenceEvalHook

with read_base():
    from .default import *

preference_eval = True              # False: no held-out preference accuracy
preference_eval_freq = None
preference_eval_batch_size = 8
# True: one pass before training scores every pair with the reference and caches the values
# beside the dataset; each step then runs the policy only.
precompute_reference = False

custom_hooks = custom_hooks + [
    dict(type=PrecomputeReferenceHook, enabled='${precompute_reference}'),
    dict(type=PreferenceEvalHook, dataset='heldout', enabled='${preference_eval}',
         every_n_iters='${preference_eval_freq}', batch_size='${preference_eval_batch_size}')]
