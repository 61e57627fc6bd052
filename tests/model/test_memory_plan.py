"""The dry-run memory plan: meta-device estimates equal those of the built models."""
import json

import pytest
import torch
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

from xtuner_like.errors import ConfigError
from xtuner_like.model import SupervisedFinetune, load_causal_lm
from xtuner_like.model.memory import GIB, estimate_training_memory
from xtuner_like.model.memory_plan import (find_model_config, format_plan, meta_model,
                                           nf4_weight_bytes, plan, zero_share)

LORA = dict(r=4, lora_alpha=8, lora_dropout=0.1, target_modules='all-linear',
            task_type='CAUSAL_LM')


@pytest.mark.parametrize('lora', [None, LORA, dict(LORA, lora_dropout=0.0)])
def test_meta_estimate_equals_the_built_models(tiny_model_dir, lora):
    llm = dict(type=load_causal_lm, pretrained_model_name_or_path=str(tiny_model_dir),
               dtype='fp32')
    built = SupervisedFinetune(llm, lora=dict(type=LoraConfig, **lora) if lora else None).llm
    config, source = find_model_config(str(tiny_model_dir))
    assert source.endswith('config.json')
    rows = plan(config, torch.float32, 256, lora, None)
    row = rows[1] if lora else rows[0]
    assert row.is_recipe and sum(r.is_recipe for r in rows) == 1
    assert row.estimate == estimate_training_memory(built, 256)


def _stored_bytes(model: torch.nn.Module) -> int:
    """Bytes a loaded 4-bit model holds (bitsandbytes' 256-entry code tables left out)."""
    total = 0
    for tensor in list(model.parameters()) + list(model.buffers()):
        total += tensor.numel() * tensor.element_size()
        state = getattr(tensor, 'quant_state', None)
        if state is not None:
            total += state.absmax.numel() * state.absmax.element_size()
            if state.state2 is not None:
                total += state.state2.absmax.numel() * state.state2.absmax.element_size()
    return total


@pytest.mark.parametrize('double_quant', [True, False])
def test_nf4_bytes_match_a_loaded_4bit_model(tmp_path, double_quant):
    pytest.importorskip('bitsandbytes')
    from transformers import LlamaConfig
    config = LlamaConfig(vocab_size=512, hidden_size=256, intermediate_size=512,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=False)
    AutoModelForCausalLM.from_config(config).save_pretrained(tmp_path)
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4',
                               bnb_4bit_use_double_quant=double_quant,
                               bnb_4bit_compute_dtype=torch.float32)
    real = AutoModelForCausalLM.from_pretrained(tmp_path, quantization_config=quant,
                                                dtype=torch.float32)
    real = get_peft_model(prepare_model_for_kbit_training(real), LoraConfig(**LORA))
    meta = meta_model(config, torch.float32, LoraConfig(**LORA), fused_lora=False)
    assert nf4_weight_bytes(meta, double_quant) == pytest.approx(_stored_bytes(real), rel=0.01)


def test_plan_orders_the_setups(tiny_model_dir):
    config, _ = find_model_config(str(tiny_model_dir))
    full, lora, qlora = (r.estimate for r in plan(config, torch.float32, 512, LORA, None))
    assert qlora.weights < full.weights < lora.weights  # LoRA adds its adapters
    assert lora.trainable == qlora.trainable < full.trainable
    assert lora.optimizer_states < full.optimizer_states


def test_model_config_from_the_shape_table_and_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv('XTUNER_LIKE_HOME', str(tmp_path))
    config, source = find_model_config('meta-llama/Llama-2-7b-chat-hf')
    assert (config.hidden_size, source) == (4096, 'the shipped shape table')
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'config.json').write_text(json.dumps(
        dict(model_type='llama', hidden_size=64, intermediate_size=128, num_hidden_layers=1,
             num_attention_heads=4, vocab_size=100)))
    assert find_model_config(str(tmp_path / 'mine'))[0].hidden_size == 64
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(ConfigError, match='no config.json for .nobody/nothing.*pass a folder'):
        find_model_config('nobody/nothing')


def test_zero_splits_states_then_gradients_then_weights(tiny_model_dir):
    config, _ = find_model_config(str(tiny_model_dir))
    e = plan(config, torch.float32, 128, None, None)[0].estimate
    parts = lambda x: (x.weights, x.gradients, x.optimizer_states)  # noqa: E731
    assert parts(zero_share(e, 0, 4)) == parts(e)
    assert parts(zero_share(e, 1, 4)) == (e.weights, e.gradients, e.optimizer_states // 4)
    assert parts(zero_share(e, 2, 4)) == (e.weights, e.gradients // 4, e.optimizer_states // 4)
    assert parts(zero_share(e, 3, 4)) == (e.weights // 4, e.gradients // 4,
                                         e.optimizer_states // 4)
    assert parts(zero_share(e, 3, 4, True, True))[::2] == (0, 0)
    assert zero_share(e, 3, 4).activations == e.activations


def test_table_lists_every_setup_in_gib(tiny_model_dir):
    config, _ = find_model_config(str(tiny_model_dir))
    rows = plan(config, torch.float32, 128, None, dict(bnb_4bit_use_double_quant=True))
    text = format_plan(rows, 'auto')
    lines = text.splitlines()
    assert [line.split()[0] for line in lines[2:5]] == ['full', 'LoRA', 'QLoRA']
    assert lines[4].split()[3] == '*'  # the recipe (QLoRA) is marked
    total = float(lines[2].split()[-2])
    assert total == pytest.approx(rows[0].estimate.total(False) / GIB, abs=0.01)
