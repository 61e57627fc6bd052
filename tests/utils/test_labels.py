"""Tests for xtuner_like/utils/labels.py: one count of trained labels for every container."""
import numpy as np
import pytest
import torch

from xtuner_like.utils.labels import IGNORE_INDEX, count_trained

LABELS = [IGNORE_INDEX, 5, 6, IGNORE_INDEX, 7]


@pytest.mark.parametrize('make', [list, np.asarray, torch.tensor])
def test_count_trained_in_every_container(make):
    assert count_trained(make(LABELS)) == 3
    assert count_trained(make(LABELS), shifted=True) == 3


def test_shift_drops_the_first_label_of_every_row():
    batch = torch.tensor([[1, 2, IGNORE_INDEX], [3, IGNORE_INDEX, 4]])
    assert count_trained(batch) == 4 and count_trained(batch, shifted=True) == 2
