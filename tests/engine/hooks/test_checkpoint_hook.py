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


def test_optimizer_state_only_in_the_latest_checkpoint(tmp_path, tiny_model_dir, xl_home):
    """save_optimizer='latest': older checkpoints are weights only, the newest resumes exactly."""
    assert train(tmp_path, tiny_model_dir, 'save_total_limit=-1', "save_optimizer='latest'") == 0
    held = {p.name: 'optimizer' in safe_load(p) for p in sorted(tmp_path.glob('iter_*.pth'))}
    assert held == {'iter_2.pth': False, 'iter_4.pth': False, 'iter_6.pth': True}
    assert all('state_dict' in safe_load(p) for p in tmp_path.glob('iter_*.pth'))
    # a resumed run strips the checkpoint it resumed from once it saves a newer one
    assert run_cli(['train', RECIPE, '--work-dir', tmp_path, '--resume', 'auto', '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', 'evaluation_inputs=[]',
                    'export_hf=False', 'max_iters=8', 'save_steps=2', 'save_total_limit=-1',
                    "save_optimizer='latest'"]) == 0
    held = {p.name: 'optimizer' in safe_load(p) for p in sorted(tmp_path.glob('iter_*.pth'))}
    assert held == {'iter_2.pth': False, 'iter_4.pth': False, 'iter_6.pth': False,
                    'iter_8.pth': True}


def test_drop_optimizer_state_of_a_file_and_of_a_deepspeed_folder(tmp_path):
    import torch
    from xtuner_like.engine.hooks.checkpoint_hook import drop_optimizer_state
    torch.save({'state_dict': {'w': torch.ones(2)}, 'optimizer': {'state': {}}},
               tmp_path / 'iter_2.pth')
    assert drop_optimizer_state(tmp_path / 'iter_2.pth')
    assert set(safe_load(tmp_path / 'iter_2.pth')) == {'state_dict'}
    assert not drop_optimizer_state(tmp_path / 'iter_2.pth')          # nothing left to drop
    folder = tmp_path / 'iter_4.pth' / 'checkpoint'
    folder.mkdir(parents=True)
    (folder / 'mp_rank_00_model_states.pt').write_bytes(b'm')
    (folder / 'bf16_zero_pp_rank_0_mp_rank_00_optim_states.pt').write_bytes(b'o')
    assert drop_optimizer_state(tmp_path / 'iter_4.pth')
    assert [p.name for p in folder.iterdir()] == ['mp_rank_00_model_states.pt']


def test_save_optimizer_accepts_true_false_or_latest():
    from xtuner_like.engine.hooks.checkpoint_hook import SafeCheckpointHook
    from xtuner_like.errors import ConfigError
    with pytest.raises(ConfigError, match="'latest'"):
        SafeCheckpointHook(interval=1, save_optimizer='last')
