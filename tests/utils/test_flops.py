"""FLOPs counting for MFU."""
import torch

from xtuner_like.utils.flops import matmul_params, matmul_peak, training_flops


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(10, 4)
        self.proj = torch.nn.Linear(4, 6, bias=False)
        self.adapter = torch.nn.Linear(4, 2, bias=False)
        self.head = torch.nn.Linear(4, 10, bias=False)
        self.head.weight = self.embed.weight  # tied
        for p in (self.proj.weight, self.embed.weight):
            p.requires_grad_(False)

    def get_output_embeddings(self):
        return self.head


def test_matmul_params_split_frozen_trainable_and_head():
    assert matmul_params(Tiny()) == {'frozen': 24, 'trainable': 8, 'head': 40}


def test_training_flops_formula():
    # 2 samples of 3 tokens: 6 tokens, 12 causal pairs; 4 tokens with a loss
    flops = training_flops(tokens=6, loss_tokens=4, squared_lengths=18, frozen=10,
                           trainable=2, head=5, layers=2, attn_width=8)
    assert flops == 4 * 10 * 6 + 6 * 2 * 6 + 4 * 5 * 4 + 12 * 2 * 8 * 12


def test_matmul_peak_is_positive():
    assert matmul_peak(size=64, seconds=0.05) > 0
