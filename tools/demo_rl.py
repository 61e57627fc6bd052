#!/usr/bin/env python
"""The online-RL demo on this CPU: GRPO teaches SmolLM2-135M-Instruct to answer additions as
``<answer>N</answer>``, with numbers before and after that a reader can check.

1. Scores the base model on ``--eval-prompts`` held-out addition questions (the 'test'
   split: no question of it is trained on; with the recipe's solved example before each),
   greedily, with the recipe's own rewards:
   mean reward, accuracy (``exact_answer``) and the share in the ``<answer>`` format.
2. Trains ``xtuner-like train smollm2_135m_instruct_lora_grpo`` (the recipe as shipped, plus
   any ``--cfg-options``), timed.
3. Scores the trained adapter (``<work_dir>/hf``, merged) on the same questions, and prints
   a Markdown table, the first ``--show`` answers before and after, and the training reward
   per update (mean of the first and last five updates).

    python tools/demo_rl.py --work-dir work_dirs/demo_rl
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RECIPE = 'smollm2_135m_instruct_lora_grpo'


def load(options: list[str]):
    from xtuner_like.config import load_config, parse_options
    return load_config(RECIPE, parse_options(options))


def score(model, cfg, rows: list[dict]) -> dict:
    """Greedy answers to ``rows`` scored with the recipe's rewards."""
    import torch

    from xtuner_like.dataset.prompts import encode_prompt_rows
    from xtuner_like.templates.chat_format import ChatFormat
    from xtuner_like.model.generate import (cut_at_stop, generate_batch, stop_strings,
                                            stop_token_ids)
    from xtuner_like.model.rewards import RewardSet
    from xtuner_like.utils.build import build
    tokenizer = build(cfg.tokenizer)
    items = encode_prompt_rows(tokenizer, rows, prompt_template=cfg.prompt_template,
                               system=cfg.get('system'), max_length=cfg.max_length)
    stop_words = ChatFormat.build(cfg.prompt_template, cfg.get('system')).stop_words
    stops = stop_strings(stop_words, tokenizer)
    model.eval()
    with torch.no_grad():
        generated = generate_batch(model, tokenizer, [i['input_ids'] for i in items],
                                   cfg.max_completion_length, stop_texts=stops,
                                   stop_ids=stop_token_ids(tokenizer, stop_words),
                                   pad_id=tokenizer.pad_token_id or 0)
    texts = [cut_at_stop(tokenizer.decode(ids, skip_special_tokens=False), stops).strip()
             for ids in generated]
    rewards = RewardSet(list(cfg.rewards))
    total, per_fn = rewards.score(texts, rows)
    accuracy = rewards.accuracy_names[0]
    formats = [name for name in per_fn if name != accuracy]
    return {'reward': float(total.mean()), 'accuracy': float(per_fn[accuracy].mean()),
            'format': float(per_fn[formats[0]].mean()) if formats else float('nan'),
            'questions': [r['messages'][-1]['content'] if 'messages' in r else r['prompt']
                          for r in rows], 'answers': texts}


def training_rewards(work_dir: Path) -> list[float]:
    """The logged mean reward of every update (mmengine's scalars.json)."""
    values = {}
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if 'reward' in row:
                values[row['step']] = row['reward']
    return [values[k] for k in sorted(values)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default='work_dirs/demo_rl')
    p.add_argument('--eval-prompts', type=int, default=32)
    p.add_argument('--show', type=int, default=4, help='answers shown before and after')
    p.add_argument('--cfg-options', nargs='*', default=[],
                   help='as for xtuner-like train (key=value ...)')
    args = p.parse_args()
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    import torch

    from xtuner_like.convert.merge import load_merged
    from xtuner_like.dataset.arithmetic import addition_rows
    from xtuner_like.model.resolve import resolve_model_path
    from transformers import AutoModelForCausalLM

    cfg = load(args.cfg_options)
    rows = addition_rows(args.eval_prompts, 'test', cfg.get('addition_max_operand', 20),
                         shots=cfg.get('addition_shots', 0))
    base = resolve_model_path(cfg.pretrained_model_name_or_path)
    before = score(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32), cfg, rows)
    print(f'before: reward {before["reward"]:.3f}, accuracy {before["accuracy"]:.3f}',
          flush=True)

    work = Path(args.work_dir)
    cli = Path(sys.executable).with_name('xtuner-like')
    cmd = [str(cli)] if cli.exists() else [sys.executable, '-m', 'xtuner_like.cli.main']
    cmd += ['train', RECIPE, '--work-dir', str(work), '--overwrite']
    if args.cfg_options:
        cmd += ['--cfg-options', *args.cfg_options]
    start = time.perf_counter()
    done = subprocess.run(cmd)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f'training failed ({done.returncode}): {" ".join(cmd)}')
    merged, _, _ = load_merged(base, work / 'hf')
    after = score(merged.float(), cfg, rows)
    print(f'after: reward {after["reward"]:.3f}, accuracy {after["accuracy"]:.3f}', flush=True)

    curve = training_rewards(work)
    head, tail = curve[:5], curve[-5:]
    print(f'\n{RECIPE}: {len(curve)} updates in {seconds / 60:.1f} min (train command, '
          f'wall), {os.cpu_count()} CPUs\n')
    print(f'| {args.eval_prompts} held-out questions, greedy | reward | accuracy | '
          '<answer> format |')
    print('| --- | ---: | ---: | ---: |')
    for name, r in (('before (base model)', before), ('after GRPO', after)):
        print(f'| {name} | {r["reward"]:.3f} | {r["accuracy"]:.3f} | {r["format"]:.3f} |')
    if curve:
        print(f'\ntraining reward (sampled, per update): first {len(head)} updates '
              f'{sum(head) / len(head):.3f}, last {len(tail)} {sum(tail) / len(tail):.3f}; '
              'all: ' + ' '.join(f'{v:.2f}' for v in curve))
    for question, answer, trained in list(zip(before['questions'], before['answers'],
                                              after['answers']))[:args.show]:
        print(f'\n{question}\n  before: {answer!r}\n  after:  {trained!r}')


if __name__ == '__main__':
    main()
