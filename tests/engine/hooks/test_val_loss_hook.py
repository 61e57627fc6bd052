"""ValLossHook on a curated eval split: logged, in TensorBoard scalars, best checkpoint kept."""
from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import run_cli



def corpus(tmp_path):
    rows = [{'instruction': f'What is {i} plus {i}?', 'input': '',
             'output': f'{i} plus {i} is {2 * i}. Adding a number to itself doubles it.'}
            for i in range(48)]
    path = tmp_path / 'sums.json'
    path.write_text(json.dumps(rows))
    return path


@pytest.mark.parametrize('options', [
    ['pack_to_max_length=True'],                          # packed, LoRA
    ['pack_to_max_length=False', 'lora=None'],            # unpacked, full fine-tune
], ids=['packed-lora', 'unpacked-full'])
def test_validation_loss_is_logged_and_the_best_checkpoint_kept(tmp_path, tiny_model_dir,
                                                                xl_home, options):
    work = tmp_path / 'work'
    rc = run_cli(['train', 'custom_curated_lora', '--work-dir', work, '--cfg-options',
                  f'pretrained_model_name_or_path={tiny_model_dir}', f'data_files={corpus(tmp_path)}',
                  "curate={'split': {'eval_count': 8}}", 'max_length=128', 'max_epochs=1',
                  'batch_size=2', 'val_interval=2', 'val_batch_size=3', 'save_best_val=True',
                  'log_interval=1', 'evaluation_inputs=[]', 'export_hf=False', 'lr=1e-3',
                  'warmup_ratio=0.5', 'accumulative_counts=1',
                  *options])
    assert rc == 0
    rows = [json.loads(x) for x in (work / 'val_loss.jsonl').read_text().splitlines()]
    assert len(rows) >= 2 and rows[-1]['iter'] > rows[0]['iter']
    assert rows[-1]['loss'] < rows[0]['loss']               # the trained weights are evaluated
    assert all(r['tokens'] > 0 and math.isclose(r['perplexity'], math.exp(r['loss']),
                                                rel_tol=1e-6) for r in rows)
    scalars = [json.loads(x) for p in work.glob('*/vis_data/scalars.json')
               for x in p.read_text().splitlines()]
    assert [s['val/loss'] for s in scalars if 'val/loss' in s] == pytest.approx(
        [r['loss'] for r in rows])
    assert list(work.glob('*/vis_data/events.out.tfevents.*'))       # TensorBoard
    assert (work / 'best_val.pth').is_file()
    best = torch.load(work / 'best_val.pth', map_location='cpu', weights_only=False)
    lora_only = all('lora_' in k for k in best['state_dict'])
    assert lora_only == ('lora=None' not in options)
