"""RewardModel: packed scores equal the HF sequence classifier's; export loads as one."""
from __future__ import annotations

import math

import pytest
import torch
from peft import LoraConfig
from transformers import AutoModelForSequenceClassification

from xtuner_like.errors import ConfigError
from xtuner_like.model import RewardModel, load_causal_lm
from xtuner_like.templates.chat_format import ChatFormat

from .test_preference import make_batch

LORA = dict(type=LoraConfig, r=4, lora_alpha=8, lora_dropout=0.0, target_modules='all-linear',
            task_type='CAUSAL_LM')


def reward_spec(path):
    return dict(type=load_causal_lm, pretrained_model_name_or_path=str(path), dtype='fp32',
                head='reward')


@pytest.mark.parametrize('lora', [LORA, None], ids=['lora', 'full'])
def test_packed_scores_equal_the_hf_classifier_on_each_sequence(tiny_model_dir, tiny_tokenizer,
                                                                lora):
    model = RewardModel(reward_spec(tiny_model_dir), lora=lora).eval()
    batch = make_batch(tiny_tokenizer)
    with torch.no_grad():
        packed = model.scores(batch)
        starts = torch.nonzero(batch['position_ids'][0] == 0).flatten().tolist()
        bounds = [*starts, batch['input_ids'].shape[1]]
        alone = torch.cat([model.llm(input_ids=batch['input_ids'][:, a:b]).logits[:, 0]
                           for a, b in zip(bounds, bounds[1:])])
    assert packed.shape == (6,)
    assert torch.allclose(packed, alone, atol=1e-5)


def test_training_step_logs_accuracy_and_the_score_head_trains(tiny_model_dir, tiny_tokenizer):
    model = RewardModel(reward_spec(tiny_model_dir), lora=LORA,
                        loss=dict(type='BradleyTerryLoss', center_rewards_coefficient=0.01))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any('score' in n for n in trainable) and any('lora_' in n for n in trainable)
    out = model(**make_batch(tiny_tokenizer))
    assert math.isfinite(float(out['loss'])) and 'rewards/accuracy' in out
    out['loss'].backward()


def test_a_loss_on_log_probs_is_refused_with_the_model_to_use(tiny_model_dir):
    with pytest.raises(ConfigError, match='DPOLoss takes logps.*PreferenceFinetune'):
        RewardModel(reward_spec(tiny_model_dir), loss='DPOLoss')


def test_export_is_a_sequence_classifier_with_the_trained_scores(tiny_model_dir, tiny_tokenizer,
                                                                 tmp_path):
    model = RewardModel(reward_spec(tiny_model_dir), lora=LORA).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'lora_B' in name:
                p.normal_(std=0.1)
    batch = make_batch(tiny_tokenizer)
    out = model.export(tmp_path / 'hf', tiny_tokenizer, ChatFormat.build('chatml'))
    loaded = AutoModelForSequenceClassification.from_pretrained(out).eval()
    assert loaded.config.num_labels == 1
    first = int(torch.nonzero(batch['position_ids'][0] == 0).flatten()[1])
    with torch.no_grad():
        expected = model.scores(batch)[0]
        got = loaded(input_ids=batch['input_ids'][:, :first]).logits[0, 0]
    assert torch.allclose(got, expected, atol=1e-4)
