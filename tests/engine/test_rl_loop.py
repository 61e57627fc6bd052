"""The RL loop resumes exactly: same prompts, same samples (generator state), same weights."""
import shutil

import torch
from conftest import logged_losses, run_cli

from xtuner_like.utils.io import safe_load

RECIPE = 'smollm2_135m_instruct_lora_grpo'


def options(model_dir, *extra):
    return ['--cfg-options', f'pretrained_model_name_or_path={model_dir}', 'max_iters=4',
            'save_steps=2', 'save_total_limit=-1', 'batch_size=2', 'group_size=4',
            'max_completion_length=6', 'num_iterations=2', 'completions_every=1',
            'evaluation_inputs=[]', 'export_hf=False', 'log_interval=1', 'lr=0.01', *extra]


def test_resume_auto_is_exact(tmp_path, tiny_model_dir, xl_home):
    ref, resumed = tmp_path / 'ref', tmp_path / 'resumed'
    assert run_cli(['train', RECIPE, '--work-dir', ref, *options(tiny_model_dir)]) == 0
    resumed.mkdir()
    shutil.copy(ref / 'iter_2.pth', resumed / 'iter_2.pth')
    (resumed / 'last_checkpoint').write_text(str(resumed / 'iter_2.pth'))
    assert run_cli(['train', RECIPE, '--work-dir', resumed, '--resume', 'auto',
                    *options(tiny_model_dir)]) == 0
    expected, got = logged_losses(ref), logged_losses(resumed)
    assert sorted(got) == [3, 4] and all(got[k] == expected[k] for k in got)
    ref_samples = (ref / 'completions.jsonl').read_text().splitlines()
    assert (resumed / 'completions.jsonl').read_text().splitlines() == \
        [s for s in ref_samples if '"iter": 2' in s]
    a, b = safe_load(ref / 'iter_4.pth')['state_dict'], safe_load(resumed / 'iter_4.pth')['state_dict']
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
