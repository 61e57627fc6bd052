"""SafeCheckpointHook: the new checkpoint is complete before the oldest goes; a failed write
is one clear error and leaves no temporary file."""
import errno

import pytest
from conftest import run_cli
from mmengine.fileio.backends.local_backend import LocalBackend

from xtuner_like.utils.io import safe_load

RECIPE = 'smollm2_135m_instruct_lora_identity'


def train(work, tiny_model_dir, *options):
    return run_cli(['train', RECIPE, '--work-dir', work, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', 'log_interval=1',
                    'evaluation_inputs=[]', 'export_hf=False', 'max_iters=6', 'save_steps=2',
                    *options])


def test_disk_full_during_a_write_keeps_the_last_checkpoint(tmp_path, tiny_model_dir, xl_home,
                                                            capsys, monkeypatch):
    """Issue 16: save_total_limit=1 + a failed write left no checkpoint (old one deleted first)."""
    real_put = LocalBackend.put
    calls = []

    def put(self, obj, filepath):
        calls.append(filepath)
        if len(calls) == 2:                                  # the checkpoint of iteration 4
            with open(filepath, 'wb') as f:
                f.write(obj[: len(obj) // 2])               # half written, then the disk is full
            raise OSError(errno.ENOSPC, 'No space left on device')
        return real_put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', put)
    rc = train(tmp_path, tiny_model_dir, 'save_total_limit=1')
    err = capsys.readouterr().err
    assert rc == 1 and 'Traceback' not in err
    line = next(x for x in err.splitlines() if x.startswith('error: '))
    assert 'cannot write checkpoint' in line and 'No space left on device' in line
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == ['iter_2.pth']
    assert safe_load(tmp_path / 'iter_2.pth')['meta']['iter'] == 2       # complete
    assert not list(tmp_path.glob('.*.tmp'))
    assert (tmp_path / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')


@pytest.mark.parametrize('limit, kept', [(1, ['iter_6.pth']), (2, ['iter_4.pth', 'iter_6.pth']),
                                         (-1, ['iter_2.pth', 'iter_4.pth', 'iter_6.pth'])])
def test_rotation_keeps_the_newest(limit, kept, tmp_path, tiny_model_dir, xl_home):
    assert train(tmp_path, tiny_model_dir, f'save_total_limit={limit}') == 0
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == kept
