"""ValLossHook on a curated eval split: logged, in TensorBoard scalars, best checkpoint kept;
packed and unpacked, with LoRA, QLoRA and a full fine-tune, in one process and under DeepSpeed
ZeRO-2 in two (gloo on the CPU)."""
from __future__ import annotations

import json
import math
import re

import pytest
import torch
from conftest import QLORA, run_cli, train_two_processes

from xtuner_like.engine.hooks.val_loss_hook import shard


def corpus(tmp_path):
    rows = [{'instruction': f'What is {i} plus {i}?', 'input': '',
             'output': f'{i} plus {i} is {2 * i}. Adding a number to itself doubles it.'}
            for i in range(48)]
    path = tmp_path / 'sums.json'
    path.write_text(json.dumps(rows))
    return path


@pytest.mark.parametrize('world', [1, 2, 3, 8])
@pytest.mark.parametrize('batch_size', [1, 2, 3])
@pytest.mark.parametrize('rows', [0, 1, 7, 8, 10])
def test_shard_evaluates_every_row_once_with_as_many_forwards_on_every_rank(rows, world,
                                                                            batch_size):
    shards = [shard(rows, rank, world, batch_size) for rank in range(world)]
    assert sorted(i for mine, _ in shards for i in mine) == list(range(rows))
    forwards = {math.ceil(len(mine) / batch_size) + idle for mine, idle in shards}
    assert len(forwards) == 1 and all(idle >= 0 for _, idle in shards)
    assert min(idle for _, idle in shards) == 0                 # no rank idles needlessly


def train_options(tmp_path, model_dir, eval_count=8) -> list[str]:
    return [f'pretrained_model_name_or_path={model_dir}', f'data_files={corpus(tmp_path)}',
            # templated rows (word sets 0.85 alike): near dedup would keep a few
            f"curate={{'split': {{'eval_count': {eval_count}}}, "
            "'near_dedup': {'enabled': False}}", 'max_length=128',
            'max_epochs=1', 'batch_size=2', 'val_interval=2', 'val_batch_size=3',
            'save_best_val=True', 'log_interval=1', 'evaluation_inputs=[]', 'export_hf=False',
            'lr=1e-3', 'warmup_ratio=0.5', 'accumulative_counts=1']


def validations(work) -> list[dict]:
    return [json.loads(x) for x in (work / 'val_loss.jsonl').read_text().splitlines()]


def check_validations(work) -> list[dict]:
    """Validated at least twice, the trained weights evaluated, perplexity = exp(loss), the
    same values in the TensorBoard scalars; returns the rows of val_loss.jsonl."""
    rows = validations(work)
    assert len(rows) >= 2 and rows[-1]['iter'] > rows[0]['iter']
    assert rows[-1]['loss'] < rows[0]['loss']               # the trained weights are evaluated
    assert all(r['tokens'] > 0 and math.isclose(r['perplexity'], math.exp(r['loss']),
                                                rel_tol=1e-6) for r in rows)
    scalars = [json.loads(x) for p in work.glob('*/vis_data/scalars.json')
               for x in p.read_text().splitlines()]
    assert [s['val/loss'] for s in scalars if 'val/loss' in s] == pytest.approx(
        [r['loss'] for r in rows])
    assert list(work.glob('*/vis_data/events.out.tfevents.*'))       # TensorBoard
    return rows


@pytest.mark.parametrize('options', [
    ['pack_to_max_length=True'],                          # packed, LoRA
    ['pack_to_max_length=False', 'lora=None'],            # unpacked, full fine-tune
    ['pack_to_max_length=True', QLORA],                   # packed, QLoRA
    ['pack_to_max_length=False', QLORA],                  # unpacked, QLoRA
], ids=['packed-lora', 'unpacked-full', 'packed-qlora', 'unpacked-qlora'])
def test_validation_loss_is_logged_and_the_best_checkpoint_kept(tmp_path, tiny_model_dir,
                                                                xl_home, options):
    if QLORA in options:
        pytest.importorskip('bitsandbytes', reason='QLoRA needs bitsandbytes')
    work = tmp_path / 'work'
    rc = run_cli(['train', 'custom_curated_lora', '--work-dir', work, '--cfg-options',
                  *train_options(tmp_path, tiny_model_dir), *options])
    assert rc == 0
    rows = check_validations(work)
    assert (work / 'best_val.pth').is_file()
    best = torch.load(work / 'best_val.pth', map_location='cpu', weights_only=False)
    lora_only = all('lora_' in k for k in best['state_dict'])
    assert lora_only == ('lora=None' not in options)
    assert best['meta']['iter'] == min(rows, key=lambda r: r['loss'])['iter']


@pytest.mark.multiprocess
@pytest.mark.parametrize('pack', [True, False], ids=['packed', 'unpacked'])
def test_validation_under_deepspeed_zero2_counts_every_eval_token_once(pack, tmp_path,
                                                                     tiny_model_dir, xl_home):
    """Two ranks each evaluate their share of the eval split (7 rows, or 3 packed: one rank
    gets one fewer) and sum their losses and tokens: the same tokens as one process (a
    DistributedSampler would repeat a row); the best checkpoint (weights only) converts to an
    adapter."""
    from xtuner_like.convert.pth_to_hf import pth_to_hf
    options = [*train_options(tmp_path, tiny_model_dir, eval_count=7),
               f'pack_to_max_length={pack}', 'save_steps=100',
               'max_epochs=2', 'val_interval=1',     # each rank runs half the iterations
               'max_length=512']                     # every eval row fits
    one = tmp_path / 'one'
    assert run_cli(['train', 'custom_curated_lora', '--work-dir', one, '--cfg-options',
                    *options]) == 0
    two = tmp_path / 'two'
    log = train_two_processes(two, tiny_model_dir, ['--deepspeed', 'deepspeed_zero2'],
                              options[1:], recipe='custom_curated_lora')
    assert 'process group: gloo, rank 0 of 2' in log
    logged = ''.join(p.read_text() for p in two.glob('*/*.log'))
    assert int(re.search(r'validation: (\d+) rows', logged).group(1)) % 2 == 1  # uneven shares
    rows = check_validations(two)
    assert {r['tokens'] for r in rows} == {r['tokens'] for r in validations(one)}
    best = two / 'best_val.pth'                   # weights only: one file, not a DeepSpeed folder
    state = torch.load(best, map_location='cpu', weights_only=False)
    assert state['state_dict'] and all('lora_' in k for k in state['state_dict'])
    assert state['meta']['iter'] == min(rows, key=lambda r: r['loss'])['iter']
    out = pth_to_hf(two / 'custom_curated_lora.py', best, tmp_path / 'hf')
    assert (out / 'adapter_model.safetensors').is_file()
