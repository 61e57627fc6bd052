import pytest
import torch

from xtuner_like.model.cpu_shapes import SHAPE_BUCKET, pad_batch, round_up, shape_bucket


@pytest.mark.parametrize('dtype, bucket', [(torch.bfloat16, SHAPE_BUCKET),
                                           (torch.float16, SHAPE_BUCKET), (torch.float32, 1)])
def test_reduced_precision_on_the_cpu_rounds_free_lengths(dtype, bucket):
    """torch's CPU kernels keep memory for every bf16/fp16 shape they see; fp32 does not."""
    assert shape_bucket(torch.zeros(3, 4, dtype=dtype)) == bucket


def test_round_up():
    assert [round_up(n, 64) for n in (1, 63, 64, 65, 128)] == [64, 64, 64, 128, 128]
    assert round_up(37, 1) == 37


def test_pad_batch_widens_a_padded_batch_with_more_padding():
    ids = torch.tensor([[5, 6, 7], [8, 9, 0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    labels = torch.tensor([[-100, 6, 7], [-100, 9, -100]])
    inputs, out_labels = pad_batch({'input_ids': ids, 'attention_mask': mask,
                                    'position_ids': None, 'use_cache': False}, labels, 4)
    assert inputs['input_ids'].tolist() == [[5, 6, 7, 0], [8, 9, 0, 0]]
    assert inputs['attention_mask'].tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]]
    assert inputs['position_ids'] is None and inputs['use_cache'] is False
    assert out_labels.tolist() == [[-100, 6, 7, -100], [-100, 9, -100, -100]]
    packed = {'input_ids': ids, 'attention_mask': None}  # packed rows: no mask, left alone
    assert pad_batch(packed, labels, 4) == (packed, labels)


def test_a_padded_batch_trains_the_same_widened(tiny_model_dir, monkeypatch):
    """The loss of a padded batch is unchanged when widened to a multiple of 64 columns."""
    from xtuner_like.model import SupervisedFinetune, load_causal_lm
    from xtuner_like.model import sft as sft_module
    model = SupervisedFinetune(dict(type=load_causal_lm, dtype='fp32',
                                    pretrained_model_name_or_path=str(tiny_model_dir)))
    torch.manual_seed(0)
    ids = torch.randint(3, 50, (2, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    labels = ids.masked_fill(mask == 0, -100)
    labels[:, :3] = -100
    batch = {'input_ids': ids, 'attention_mask': mask, 'labels': labels}
    exact = model.loss_sum(batch)
    monkeypatch.setattr(sft_module, 'shape_bucket', lambda weight: 64)
    widened = model.loss_sum(batch)
    assert exact[1] == widened[1]
    torch.testing.assert_close(widened[0], exact[0], rtol=1e-5, atol=1e-5)
