"""vLLM generation for RL: one clear line where it cannot run; the pieces that shape its
requests and outputs; and, on a CUDA machine with vllm, a rollout with synced weights."""
import importlib.util
from types import SimpleNamespace

import pytest
import torch

from xtuner_like.errors import ConfigError
from xtuner_like.model import load_causal_lm
from xtuner_like.model.rl import GRPOFinetune
from xtuner_like.model.vllm_rollout import (check_backend, check_vllm, completion_ids,
                                            full_weights, lora_rank_slot, model_path,
                                            sampling_settings)

HAS_VLLM = torch.cuda.is_available() and importlib.util.find_spec('vllm') is not None


def make(tiny_model_dir, **kwargs):
    llm = dict(type=load_causal_lm, pretrained_model_name_or_path=str(tiny_model_dir))
    kwargs.setdefault('rewards', [dict(type='reward_fns.e_share')])
    return GRPOFinetune(llm, **kwargs)


def test_an_unknown_backend_names_the_choices():
    with pytest.raises(ConfigError, match="did you mean 'vllm'.*'hf', 'vllm'"):
        check_backend('vlm')
    assert check_backend('hf') == 'hf'


def test_vllm_without_cuda_is_one_line(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(ConfigError) as error:
        make(tiny_model_dir, generation_backend='vllm')
    assert 'needs a CUDA GPU' in str(error.value) and '\n' not in str(error.value)


def test_vllm_without_the_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'vllm' else real(name, *a))
    with pytest.raises(ConfigError, match='requirements/vllm.txt') as error:
        check_vllm()
    assert '\n' not in str(error.value)


def test_sampling_settings_follow_the_model():
    s = sampling_settings(24, 0.7, 0.9, 0, [2, 7], ['</s>'], seed=5)
    assert s == dict(n=1, max_tokens=24, temperature=0.7, top_p=0.9, top_k=-1,
                     stop_token_ids=[2, 7], stop=['</s>'], include_stop_str_in_output=True,
                     skip_special_tokens=False, seed=5)
    assert sampling_settings(8, 1.0, 1.0, 50, [], [], None)['top_k'] == 50


@pytest.mark.parametrize('ids,finish,reason,expected', [
    ([5, 6], 'length', None, [5, 6]),          # cut at max_tokens: nothing added
    ([5, 6], 'stop', None, [5, 6, 2]),         # the eos ended it but is not in the ids
    ([5, 6, 2], 'stop', None, [5, 6, 2]),      # ... or already is
    ([5], 'stop', 7, [5, 7]),                  # a stop token id
    ([5, 9], 'stop', '</s>', [5, 9]),          # a stop text: its tokens are in the ids
])
def test_completion_ids_end_with_their_stop_token(ids, finish, reason, expected):
    out = SimpleNamespace(token_ids=ids, finish_reason=finish, stop_reason=reason)
    assert completion_ids(out, eos_id=2) == expected


def test_lora_rank_slots():
    assert [lora_rank_slot(r) for r in (4, 8, 16, 17, 64)] == [8, 8, 16, 32, 64]
    with pytest.raises(ConfigError, match='lower lora_r'):
        lora_rank_slot(1024)


def test_what_vllm_loads_and_receives(tiny_model_dir):
    model = make(tiny_model_dir, lora=dict(type='peft.LoraConfig', r=4,
                                           target_modules='all-linear'))
    assert model_path(model.llm) == str(tiny_model_dir)
    full = make(tiny_model_dir)
    names = [name for name, _ in full_weights(full.llm)]
    assert names == [name for name, _ in full.llm.named_parameters()]
    assert 'model.layers.0.self_attn.q_proj.weight' in names


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_VLLM, reason='needs CUDA and vllm (requirements/vllm.txt)')
@pytest.mark.parametrize('lora', [None, dict(type='peft.LoraConfig', r=4,
                                             target_modules='all-linear')])
def test_a_vllm_rollout_on_a_gpu(tiny_model_dir, tiny_tokenizer, lora):
    model = make(tiny_model_dir, lora=lora, group_size=2, max_completion_length=6,
                 generation_backend='vllm',
                 vllm=dict(gpu_memory_utilization=0.2, enforce_eager=True)).cuda()
    prompts = [tiny_tokenizer.encode('Who are you?'), tiny_tokenizer.encode('The quick')]
    rollout = model.rollout(prompts, [{'prompt': 'a'}, {'prompt': 'b'}], tiny_tokenizer,
                            ['<|im_end|>'], torch.Generator('cuda').manual_seed(0))
    assert len(rollout.samples) == 4 and rollout.metrics['completions/max_length'] <= 6
    assert len(rollout.micro_batches) == 1
    engine = model._vllm[0]
    if lora is None:   # a full fine-tune: the next rollout hands vLLM the changed weights
        before = engine.engine.collective_rpc('xtl_weight_abs_sum')[0]
        with torch.no_grad():
            for p in model.llm.parameters():
                p.mul_(2)
        model.rollout(prompts, [{}, {}], tiny_tokenizer, ['<|im_end|>'])
        after = engine.engine.collective_rpc('xtl_weight_abs_sum')[0]
        assert after == pytest.approx(2 * before, rel=1e-2)
    else:              # adapters: served as a LoRA request of the saved adapter folder
        assert engine._lora_request is not None and engine.adapters
