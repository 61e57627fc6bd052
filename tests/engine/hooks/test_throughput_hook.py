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


def test_sample_lengths_split_packs_and_drop_padding():
    from xtuner_like.engine.hooks.throughput_hook import sample_lengths
    assert sample_lengths({'labels': torch.zeros(1, 5),
                           'position_ids': torch.tensor([[0, 1, 2, 0, 1]])}) == [3, 2]
    assert sample_lengths({'labels': torch.zeros(2, 3),
                           'attention_mask': torch.tensor([[1, 1, 0], [1, 1, 1]])}) == [2, 3]


def test_per_iteration_record_is_written(tiny_run):
    import json
    record = json.loads(next(tiny_run.glob('*/throughput.json')).read_text())['iterations']
    assert len(record) == 12
    assert all(r['real'] >= r['trained'] > 0 and r['squares'] > 0 for r in record)
    assert [r['end'] for r in record] == sorted(r['end'] for r in record)
