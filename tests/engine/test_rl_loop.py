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


def test_an_rl_run_evaluates_tasks_at_intervals_and_keeps_the_best(tmp_path, tiny_model_dir,
                                                                   xl_home):
    """Issue 26 item 6: an eval task (the evaluate issue) at intervals of an RL run."""
    import json
    mc = tmp_path / 'sums_mc.jsonl'
    mc.write_text(''.join(json.dumps({'question': f'What is {a} + {a}?',
                                      'choices': [str(2 * a), str(2 * a + 1)], 'answer': 0}) + '\n'
                          for a in range(3)))
    work = tmp_path / 'rl_eval'
    assert run_cli(['train', RECIPE, '--work-dir', work, *options(
        tiny_model_dir, f"eval_task_files=['{mc}']", 'eval_interval=2',
        "save_best='sums_mc/acc'")]) == 0
    rows = [json.loads(line) for line in (work / 'eval_results.jsonl').read_text().splitlines()]
    assert [r['iter'] for r in rows] == [2, 4]
    assert all(0 <= r['sums_mc/acc'] <= 1 for r in rows)
    assert (work / 'best_eval.pth').is_file()
