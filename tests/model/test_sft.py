"""SupervisedFinetune: full, LoRA and QLoRA; adapters-only checkpoints; loss paths."""
import pytest
import torch
from peft import LoraConfig

from xtuner_like.errors import CheckpointError
from xtuner_like.model import SupervisedFinetune, load_causal_lm

LORA = dict(type=LoraConfig, r=4, lora_alpha=8, lora_dropout=0.0, target_modules='all-linear',
            task_type='CAUSAL_LM')


def llm_spec(path, **kwargs):
    return dict(type=load_causal_lm, pretrained_model_name_or_path=str(path), dtype='fp32',
                **kwargs)


def batch():
    ids = torch.randint(3, 300, (2, 12))
    labels = ids.clone()
    labels[:, :5] = -100
    return ids, labels


def test_lora_trains_only_adapters_and_checkpoints_hold_only_them(tiny_model_dir):
    model = SupervisedFinetune(llm_spec(tiny_model_dir), lora=LORA)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all('lora_' in n for n in trainable)
    state = model.state_dict()
    assert set(state) == trainable
    fresh = SupervisedFinetune(llm_spec(tiny_model_dir), lora=LORA)
    fresh.load_trainable_state_dict(state)
    for name, value in fresh.state_dict().items():
        torch.testing.assert_close(value, state[name])


def test_loading_a_mismatching_checkpoint_is_a_clear_error(tiny_model_dir):
    model = SupervisedFinetune(llm_spec(tiny_model_dir), lora=LORA)
    with pytest.raises(CheckpointError, match='does not match the model of this config'):
        model.load_trainable_state_dict({'llm.something.else': torch.zeros(1)})


def test_fast_loss_equals_full_logits_loss(tiny_model_dir):
    torch.manual_seed(0)
    ids, labels = batch()
    fast = SupervisedFinetune(llm_spec(tiny_model_dir))
    slow = SupervisedFinetune(llm_spec(tiny_model_dir), loss_on_trained_positions=False)
    a = fast(ids, labels)['loss']
    b = slow(ids, labels)['loss']
    torch.testing.assert_close(a, b)


def test_gradient_checkpointing_keeps_loss_and_gradients(tiny_model_dir):
    torch.manual_seed(0)
    ids, labels = batch()
    plain = SupervisedFinetune(llm_spec(tiny_model_dir), lora=LORA)
    torch.manual_seed(1)
    ckpt = SupervisedFinetune(llm_spec(tiny_model_dir), lora=LORA, use_gradient_checkpointing=True)
    ckpt.load_trainable_state_dict(plain.state_dict())
    ckpt.train(), plain.train()
    la, lb = plain(ids, labels)['loss'], ckpt(ids, labels)['loss']
    la.backward(), lb.backward()
    torch.testing.assert_close(la, lb)
    for (n, p), (_, q) in zip(plain.named_parameters(), ckpt.named_parameters()):
        if p.requires_grad:
            torch.testing.assert_close(p.grad, q.grad, msg=n)


def test_loss_denominator_divides_the_token_sum(tiny_model_dir):
    ids, labels = batch()
    model = SupervisedFinetune(llm_spec(tiny_model_dir))
    mean = model(ids, labels)['loss']
    n = int((labels[:, 1:] != -100).sum())
    torch.testing.assert_close(model(ids, labels, loss_denominator=2 * n)['loss'], mean / 2)


def test_qlora_on_cpu_trains_a_step(tiny_model_dir):
    from transformers import BitsAndBytesConfig
    quant = dict(type=BitsAndBytesConfig, load_in_4bit=True, bnb_4bit_quant_type='nf4',
                 bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype='float32')
    model = SupervisedFinetune(llm_spec(tiny_model_dir, quantization=quant), lora=LORA)
    assert getattr(model.backbone, 'is_loaded_in_4bit', False)
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    opt = torch.optim.AdamW(params, lr=1e-2)
    ids, labels = batch()
    model(ids, labels)['loss'].backward()
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, params))
    assert all('lora_' in k for k in model.state_dict())


def test_compiled_layers_keep_loss_and_gradients(tiny_model_dir):
    ids, labels = batch()
    results = []
    for compile in (False, dict(backend='aot_eager')):
        torch.manual_seed(0)
        model = SupervisedFinetune(llm_spec(tiny_model_dir), lora=LORA, compile=compile)
        model.train()
        loss = model(ids, labels)['loss']
        loss.backward()
        results.append((loss.detach(), [p.grad for p in model.parameters() if p.requires_grad]))
    torch.testing.assert_close(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b)
