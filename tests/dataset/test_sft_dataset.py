"""SftDataset over a saved folder."""
import json

import datasets

from xtuner_like.dataset.sft_dataset import SftDataset


def test_load_and_index(tmp_path):
    data = datasets.Dataset.from_dict({'input_ids': [[1, 2, 3], [4, 5]],
                                       'labels': [[-100, 2, 3], [-100, 5]], 'length': [3, 2]})
    data.save_to_disk(str(tmp_path))
    (tmp_path / 'stats.json').write_text(json.dumps({'samples': 2}))
    ds = SftDataset.load(tmp_path, packed=False, max_length=8)
    assert len(ds) == 2 and list(ds[1]['input_ids']) == [4, 5]
    assert list(ds.lengths) == [3, 2] and ds.metainfo['samples'] == 2
