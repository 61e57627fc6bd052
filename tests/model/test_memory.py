"""Memory estimate and the automatic choice of gradient checkpointing."""
import re

import psutil
import pytest
import torch
from peft import LoraConfig

from xtuner_like.errors import ConfigError
from xtuner_like.model import SupervisedFinetune, load_causal_lm
from xtuner_like.model import memory
from xtuner_like.model import sft as sft_module
from xtuner_like.model.memory import (GIB, MemoryEstimate, choose_gradient_checkpointing,
                                      estimate_training_memory)


def lora(dropout):
    return dict(type=LoraConfig, r=4, lora_alpha=8, lora_dropout=dropout,
                target_modules='all-linear', task_type='CAUSAL_LM')


def llm(path):
    return dict(type=load_causal_lm, pretrained_model_name_or_path=str(path), dtype='fp32')


def test_parts_of_a_lora_estimate(tiny_model_dir):
    model = SupervisedFinetune(llm(tiny_model_dir), lora=lora(0.0)).llm
    small = estimate_training_memory(model, 128)
    large = estimate_training_memory(model, 1024)
    trainable = sum(p.numel() * 4 for p in model.parameters() if p.requires_grad)
    assert small.trainable == small.gradients == trainable
    assert small.optimizer_states == 2 * trainable
    assert small.weights >= sum(p.numel() * 4 for p in model.parameters())
    assert 0 < small.checkpointed < small.activations < large.activations
    assert small.total(True) < small.total(False)
    assert 'activations for 128 tokens' in small.describe()


def test_fused_dropout_keeps_less_than_peft_dropout(tiny_model_dir):
    fused = SupervisedFinetune(llm(tiny_model_dir), lora=lora(0.1)).llm
    plain = SupervisedFinetune(llm(tiny_model_dir), lora=lora(0.1), fused_lora=False).llm
    none = SupervisedFinetune(llm(tiny_model_dir), lora=lora(0.0)).llm
    acts = [estimate_training_memory(m, 512).activations for m in (none, fused, plain)]
    assert acts[0] < acts[1] < acts[2]


def estimate(total_gib):
    return MemoryEstimate(weights=int(total_gib * GIB), trainable=0, gradients=0,
                          optimizer_states=0, activations=0, checkpointed=0, tokens=1)


def test_auto_turns_checkpointing_on_only_when_it_does_not_fit():
    on, why = choose_gradient_checkpointing('auto', estimate(9), budget=10 * GIB)
    assert on and why.startswith('on (auto')
    off, why = choose_gradient_checkpointing('auto', estimate(7), budget=10 * GIB)
    assert not off and why.startswith('off (auto')
    assert choose_gradient_checkpointing(True, estimate(1), 10 * GIB) == (
        True, 'on (set in the config)')
    with pytest.raises(ConfigError, match="'auto'"):
        choose_gradient_checkpointing('yes', estimate(1), 10 * GIB)


def test_auto_in_the_model_logs_the_estimate_and_follows_memory(tiny_model_dir, monkeypatch,
                                                               capsys):
    model = SupervisedFinetune(llm(tiny_model_dir), lora=lora(0.0),
                               use_gradient_checkpointing='auto', max_tokens_per_batch=64)
    assert model.gradient_checkpointing is False
    monkeypatch.setattr(sft_module, 'available_memory', lambda: (1, 'a tiny test budget'))
    squeezed = SupervisedFinetune(llm(tiny_model_dir), lora=lora(0.0),
                                  use_gradient_checkpointing='auto', max_tokens_per_batch=64)
    assert squeezed.gradient_checkpointing is True
    assert squeezed.backbone.is_gradient_checkpointing
    ids = torch.randint(3, 300, (1, 16))
    squeezed.train()
    squeezed(ids, ids)['loss'].backward()


def test_the_process_itself_counts_on_the_host(tiny_model_dir, monkeypatch):
    """The baseline is the RSS before the model (interpreter and libraries), it is part of
    the total (so the logged peak compares with peak RSS), and a CUDA run leaves it out."""
    model = SupervisedFinetune(llm(tiny_model_dir), lora=lora(0.0)).llm
    before = psutil.Process().memory_info().rss
    baseline = memory.process_baseline()
    assert before <= baseline <= psutil.Process().memory_info().rss
    plain = estimate_training_memory(model, 128)
    with_it = estimate_training_memory(model, 128, runtime=baseline)
    assert with_it.total(False) - plain.total(False) == baseline
    assert 'runtime' in with_it.describe() and 'runtime' not in plain.describe()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert memory.process_baseline() == 0


def test_the_run_logs_the_peak_it_expects(tiny_model_dir, monkeypatch):
    logged = []
    monkeypatch.setattr(sft_module, 'log_once', logged.append)
    SupervisedFinetune(llm(tiny_model_dir), lora=lora(0.0), max_tokens_per_batch=64)
    line = next(x for x in logged if x.startswith('memory estimate: '))
    peak = float(re.match(r'memory estimate: peak ([\d.]+) GiB = weights', line).group(1))
    # the whole process counts, not only the tiny model's few MiB
    assert peak * GIB >= 0.5 * psutil.Process().memory_info().rss


def test_a_checkpoint_converted_while_loading_counts_its_mapped_file(tiny_model_dir, monkeypatch):
    """An fp32 file loaded as bf16 (or 4-bit) is mapped whole while its tensors convert: the
    logged peak is then the loading peak (file + weights + process), which peak RSS measures;
    a file loaded in its own dtype adds nothing. The loading peak never decides checkpointing
    (its pages are reclaimable)."""
    file_bytes = sum(f.stat().st_size for f in tiny_model_dir.glob('*.safetensors'))
    as_stored = load_causal_lm(str(tiny_model_dir), dtype='fp32')
    narrower = load_causal_lm(str(tiny_model_dir), dtype='bf16')
    assert memory.checkpoint_file_bytes(as_stored) == 0
    assert memory.checkpoint_file_bytes(narrower) == file_bytes
    assert memory.checkpoint_file_bytes(torch.nn.Linear(2, 2)) == 0  # no checkpoint folder
    estimate = estimate_training_memory(narrower, 64, runtime=GIB, loading=file_bytes)
    assert estimate.load_peak() == GIB + estimate.weights + file_bytes
    assert estimate.total(False) == estimate_training_memory(narrower, 64, runtime=GIB).total(False)
    assert 'while loading' in estimate.describe()
    logged = []
    monkeypatch.setattr(sft_module, 'log_once', logged.append)
    SupervisedFinetune({**llm(tiny_model_dir), 'dtype': 'bf16'}, lora=lora(0.0),
                       max_tokens_per_batch=8)
    line = next(x for x in logged if x.startswith('memory estimate: '))
    assert 'while loading, the checkpoint file mapped' in line
