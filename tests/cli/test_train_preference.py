"""`xtuner-like train` on every SmolLM2 preference recipe (tiny model), and DPO under ZeRO-2/3.

The one-process runs use the recipes as shipped (generated persona pairs, held-out pairs
scored before and after), on the tiny local Llama. The 2-process runs are started as users
start them (``NPROC_PER_NODE=2``) and must log the same DPO losses as one process that
accumulates 2 micro-batches (the same global batches), as for SFT (test_train_distributed.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli, train_two_processes

from .test_train_distributed import TOLERANCE

RECIPES = ['smollm2_135m_instruct_lora_dpo', 'smollm2_135m_instruct_lora_orpo',
           'smollm2_135m_instruct_lora_simpo', 'smollm2_135m_instruct_lora_kto',
           'smollm2_135m_instruct_lora_reward']
OPTIONS = ['max_iters=4', 'warmup_iters=1', 'save_steps=4', 'log_interval=1', 'evaluation_max_new_tokens=2',
           'lr=1e-2', 'lora_dropout=0.0']


def train_rows(work: Path) -> dict[int, dict]:
    """step -> logged training scalars (held-out scalars share steps: left out)."""
    rows = {}
    for path in work.glob('*/vis_data/scalars.json'):
        for row in map(json.loads, path.read_text().splitlines()):
            if 'loss' in row:
                rows[row['step']] = row
    return rows


def held_out(work: Path) -> list[dict]:
    return [json.loads(line) for line in (work / 'eval_preference.jsonl').read_text().splitlines()]


@pytest.mark.parametrize('recipe', RECIPES)
def test_each_preference_recipe_trains_and_scores_held_out_pairs(recipe, tmp_path, tiny_model_dir,
                                                                 xl_home):
    work = tmp_path / 'work'
    assert run_cli(['train', recipe, '--work-dir', work, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', *OPTIONS]) == 0
    logged = train_rows(work)
    assert sorted(logged) == [1, 2, 3, 4]
    if recipe.endswith('_kto'):
        # unpaired rows: a packed micro-batch of one kind of row logs that kind's rewards only
        assert all({'rewards/chosen', 'rewards/rejected'} & set(row) for row in logged.values())
    else:
        assert all('rewards/margins' in row for row in logged.values())
    before, after = held_out(work)
    assert (before['when'], after['when']) == ('before training', 'after training')
    # every fifth row of the generated data (holdout=0.2): 17 of 85 pairs, 34 of 170 KTO rows
    assert before['pairs'] == after['pairs'] == (34 if recipe.endswith('_kto') else 17)
    assert 'held-out rows (20%' in before['data']
    if recipe.endswith(('_dpo', '_kto')):   # the policy is its reference: ties count half
        assert before['ties'] == before['pairs'] and before['accuracy'] == 0.5
    assert (work / 'hf').is_dir()
    if recipe.endswith(('_dpo', '_reward')):
        check_convert_merge_chat(recipe, work, tmp_path, tiny_model_dir)


def check_convert_merge_chat(recipe: str, work: Path, tmp_path: Path, model_dir: Path) -> None:
    """convert pth_to_hf on the checkpoint; DPO: merge and chat; reward: a sequence classifier."""
    import io
    import sys
    hf = tmp_path / 'converted'
    assert run_cli(['convert', 'pth_to_hf', work / f'{recipe}.py', work / 'iter_4.pth', hf]) == 0
    if recipe.endswith('_reward'):
        from transformers import AutoModelForSequenceClassification
        assert AutoModelForSequenceClassification.from_pretrained(hf).config.num_labels == 1
        return
    merged = tmp_path / 'merged'
    assert run_cli(['convert', 'merge', model_dir, hf, merged, '--dtype', 'fp32']) == 0
    stdin, sys.stdin = sys.stdin, io.StringIO('Who are you?\n')
    try:
        assert run_cli(['chat', merged, '--temperature', '0', '--max-new-tokens', '4']) == 0
    finally:
        sys.stdin = stdin


def test_dpo_held_out_accuracy_rises(tmp_path, tiny_model_dir, xl_home):
    work = tmp_path / 'work'
    assert run_cli(['train', 'smollm2_135m_instruct_lora_dpo', '--work-dir', work,
                    '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}',
                    *OPTIONS, 'max_iters=12', 'export_hf=False', 'evaluation_inputs=[]']) == 0
    before, after = held_out(work)
    assert after['accuracy'] > before['accuracy'] and after['margin'] > before['margin']


DPO = 'smollm2_135m_instruct_lora_dpo'
DIST_OPTIONS = ['save_steps=2', 'log_interval=1', 'evaluation_inputs=[]', 'lora_dropout=0.0',
                'param_scheduler=[]', 'export_hf=False', 'lr=1e-2', 'batch_size=1',
                'preference_eval=False']


@pytest.mark.multiprocess
@pytest.mark.parametrize('mode', ['zero2', 'zero3'])
def test_dpo_under_zero_with_two_processes_matches_one(mode, tmp_path, tiny_model_dir, xl_home):
    args = ['--deepspeed', f'deepspeed_{mode}']
    pytest.importorskip('deepspeed', reason='pip install -r requirements/deepspeed.txt')
    one = tmp_path / 'one'
    assert run_cli(['train', DPO, '--work-dir', one, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', 'max_iters=4',
                    'accumulative_counts=2', *DIST_OPTIONS]) == 0
    two = tmp_path / 'two'
    train_two_processes(two, tiny_model_dir, args, ['max_iters=2', *DIST_OPTIONS],
                        recipe=DPO)
    single, double = train_rows(one), train_rows(two)
    assert sorted(double) == [1, 2]
    for step in double:
        # rank 0 logs the first micro-batch (pair) of each window; one process logs both
        assert double[step]['loss'] == pytest.approx(single[2 * step - 1]['loss'], **TOLERANCE)
        assert double[step]['grad_norm'] == pytest.approx(single[2 * step]['grad_norm'],
                                                          **TOLERANCE)
