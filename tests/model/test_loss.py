"""The trained-positions loss equals the full-logits reference."""
import pytest
import torch

from xtuner_like.model import loss as loss_module
from xtuner_like.model.loss import token_loss_from_hidden, token_loss_from_logits


@pytest.mark.parametrize('bucket', [1, 4, 64])
def test_hidden_path_equals_logits_path(monkeypatch, bucket):
    """Also with the trained rows padded to a multiple of ``bucket`` (bf16/fp16 on the CPU,
    model/cpu_shapes.py): the padding rows are ignored targets."""
    monkeypatch.setattr(loss_module, 'shape_bucket', lambda tensor: bucket)
    torch.manual_seed(0)
    head = torch.nn.Linear(16, 50, bias=False)
    hidden = torch.randn(2, 9, 16, requires_grad=True)
    labels = torch.randint(0, 50, (2, 9))
    labels[0, :4] = -100
    labels[1, 6:] = -100
    ref, n_ref = token_loss_from_logits(head(hidden), labels)
    fast, n_fast = token_loss_from_hidden(hidden, labels, head, chunk_size=3)
    assert n_ref == n_fast == int((labels[:, 1:] != -100).sum())
    torch.testing.assert_close(fast, ref)
    g_ref, = torch.autograd.grad(ref, hidden)
    g_fast, = torch.autograd.grad(fast, hidden)
    torch.testing.assert_close(g_fast, g_ref)


def test_bf16_trained_rows_reach_the_head_in_multiples_of_the_bucket():
    rows = []
    head = torch.nn.Linear(8, 11, bias=False).to(torch.bfloat16)
    head.register_forward_hook(lambda m, args, out: rows.append(args[0].shape[0]))
    labels = torch.randint(0, 11, (1, 30))
    token_loss_from_hidden(torch.randn(1, 30, 8, dtype=torch.bfloat16), labels, head)
    assert rows == [64]


def test_no_trained_token_gives_zero():
    head = torch.nn.Linear(4, 7)
    loss, n = token_loss_from_hidden(torch.randn(1, 5, 4), torch.full((1, 5), -100), head)
    assert n == 0 and float(loss) == 0.0
