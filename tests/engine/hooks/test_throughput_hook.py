import torch

from xtuner_like.engine.hooks.throughput_hook import batch_counts


def test_batch_counts_packed_and_padded():
    packed = {'labels': torch.tensor([[-100, 5, 6, -100, 7]]),
              'position_ids': torch.tensor([[0, 1, 2, 0, 1]])}
    assert batch_counts(packed) == (5, 3, 2)
    padded = {'labels': torch.tensor([[-100, 5, -100], [-100, 6, 7]]),
              'attention_mask': torch.tensor([[1, 1, 0], [1, 1, 1]])}
    assert batch_counts(padded) == (5, 3, 2)


def test_logged_in_a_run(tiny_run):
    log = next(tiny_run.glob('*/*.log')).read_text()
    assert 'tokens_per_sec:' in log and 'throughput after warm-up' in log
