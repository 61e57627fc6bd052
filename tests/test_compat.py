"""One test per private API access in xtuner_like/compat.py: each fails loudly when an
upgrade of mmengine, peft, datasets, torch, transformers, numpy or Python changes what we
rely on."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

from xtuner_like import compat

CONFIG_TEXT = '''
from torch.optim import AdamW
lr = 0.1
optim = dict(type=AdamW, lr='${lr}')
'''


@pytest.fixture
def lazy_cfg(tmp_path):
    from mmengine.config import Config
    path = tmp_path / 'cfg.py'
    path.write_text(CONFIG_TEXT)
    return Config.fromfile(str(path))


def test_cfg_dict_is_the_raw_dict_with_lazy_types_unbuilt(lazy_cfg):
    from mmengine.config.lazy import LazyObject
    raw = compat.cfg_dict(lazy_cfg)
    assert isinstance(raw, dict) and raw['lr'] == 0.1
    assert isinstance(dict.__getitem__(raw['optim'], 'type'), LazyObject)
    assert compat.cfg_dict({'a': 1}) == {'a': 1}


def test_imported_names_lists_the_config_imports(lazy_cfg):
    assert 'AdamW' in compat.imported_names(lazy_cfg)
    assert 'lr' not in compat.imported_names(lazy_cfg)


def test_lazy_dict_keeps_imports_lazy(lazy_cfg):
    from mmengine.config.lazy import LazyObject
    data = compat.lazy_dict(lazy_cfg)
    assert isinstance(data['optim']['type'], LazyObject) and data['lr'] == 0.1


def test_lazy_object_path_names_module_and_object(lazy_cfg):
    lazy = dict.__getitem__(compat.cfg_dict(lazy_cfg)['optim'], 'type')
    assert compat.lazy_object_path(lazy) == 'torch.optim.AdamW'
    assert compat.lazy_object_path('torch.optim.AdamW') is None


def test_accumulative_counts_of_an_optim_wrapper():
    import torch
    from mmengine.optim import OptimWrapper
    param = torch.nn.Parameter(torch.zeros(1))
    wrapper = OptimWrapper(torch.optim.SGD([param], lr=0.1), accumulative_counts=4)
    assert compat.accumulative_counts(wrapper) == 4


def test_strategy_classes_are_mmengines():
    base, deepspeed, wrapper = compat.strategy_classes()
    assert issubclass(deepspeed, base)
    assert {'build_model', 'save_checkpoint', 'resume'} <= set(dir(deepspeed))
    assert hasattr(wrapper, 'step')


def test_param_scheduler_base_is_what_mmengines_schedulers_derive_from():
    from mmengine.optim import CosineAnnealingLR, LinearLR

    from xtuner_like.engine.schedule import WarmupCosineLR
    base = compat.param_scheduler_base()
    assert issubclass(LinearLR, base) and issubclass(CosineAnnealingLR, base)
    assert issubclass(WarmupCosineLR, base)
    assert {'step', 'get_last_value', 'state_dict'} <= set(dir(base))


def test_register_custom_lora_module_makes_peft_build_our_layer():
    import torch
    from peft import LoraConfig, get_peft_model

    from xtuner_like.model.lora_linear import FusedLoraLinear
    config = LoraConfig(r=2, target_modules=['lin'])
    compat.register_custom_lora_module(config, {torch.nn.Linear: FusedLoraLinear})
    model = torch.nn.Sequential()
    model.add_module('lin', torch.nn.Linear(4, 4))
    peft_model = get_peft_model(model, config)
    assert any(isinstance(m, FusedLoraLinear) for m in peft_model.modules())


def test_dataset_fingerprint_changes_with_the_content():
    import datasets
    a = datasets.Dataset.from_dict({'x': [1, 2]})
    b = a.map(lambda row: {'x': row['x'] + 1})
    assert isinstance(compat.dataset_fingerprint(a), str)
    assert compat.dataset_fingerprint(a) != compat.dataset_fingerprint(b)


def test_dataset_row_mapping_maps_a_filtered_dataset_to_its_table_rows():
    import datasets
    ds = datasets.Dataset.from_dict({'x': [10, 11, 12, 13]})
    assert compat.dataset_row_mapping(ds) is None
    kept = ds.filter(lambda x: x % 2 == 1, input_columns='x')
    rows = compat.dataset_row_mapping(kept).column(0).to_pylist()
    assert rows == [1, 3] and kept.data.table.take(rows)['x'].to_pylist() == kept['x']


@pytest.mark.parametrize('public', [True, False], ids=['post_hook', 'private_hook'])
def test_register_state_dict_hook_edits_the_state_dict_in_place(public, monkeypatch):
    import torch
    if not public:  # torch 2.4 has only the private registration
        monkeypatch.delattr(torch.nn.Module, 'register_state_dict_post_hook')
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    model[0].requires_grad_(False)

    def keep_trainable(module, state_dict, prefix, local_metadata):
        trainable = {prefix + n for n, p in module.named_parameters() if p.requires_grad}
        for key in [k for k in state_dict if k not in trainable]:
            del state_dict[key]
    compat.register_state_dict_hook(model, keep_trainable)
    assert sorted(model.state_dict()) == ['1.bias', '1.weight']
    outer = torch.nn.Module()
    outer.add_module('inner', model)  # as a child: the prefix is passed on
    assert sorted(outer.state_dict()) == ['inner.1.bias', 'inner.1.weight']


def test_config_name_or_path_is_where_a_config_came_from(tmp_path):
    from transformers import AutoConfig, LlamaConfig
    LlamaConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                intermediate_size=16, vocab_size=32).save_pretrained(tmp_path)
    assert compat.config_name_or_path(AutoConfig.from_pretrained(tmp_path)) == str(tmp_path)
    assert compat.config_name_or_path(LlamaConfig()) == ''
    assert compat.config_name_or_path(None) == ''


def test_run_exit_handlers_runs_what_atexit_holds_before_os_exit():
    import subprocess
    import sys
    code = ('import atexit, os\n'
            'from xtuner_like import compat\n'
            'atexit.register(print, "handler ran", flush=True)\n'
            'compat.run_exit_handlers()\n'
            'os._exit(3)\n')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3 and done.stdout == 'handler ran\n', done.stderr


def test_numpy_reconstruct_is_what_array_pickles_call():
    reduced = np.arange(3).__reduce__()
    assert reduced[0] is compat.numpy_reconstruct()


@pytest.mark.parametrize('owner, member', compat.SUBCLASS_HOOKS)
def test_members_our_subclasses_rely_on_still_exist(owner, member):
    module, _, name = owner.rpartition('.')
    cls = getattr(importlib.import_module(module), name)
    if hasattr(cls, member):
        return
    # an instance attribute: one of mmengine's classes in the MRO assigns it
    import inspect
    source = ''.join(inspect.getsource(c) for c in cls.__mro__
                     if c.__module__.startswith('mmengine'))
    assert f'self.{member} =' in source or f'self.{member}:' in source, (owner, member)


def test_skip_deepspeed_shm_comm_marks_the_op_incompatible():
    deepspeed = pytest.importorskip('deepspeed')
    compat.skip_deepspeed_shm_comm()
    assert deepspeed.ops.__compatible_ops__['deepspeed_shm_comm'] is False
    assert compat.skip_deepspeed_shm_comm() is False      # already skipped
