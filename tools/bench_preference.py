#!/usr/bin/env python
"""DPO LoRA: xtuner_like against trl's DPOTrainer on the same pairs, one script, one machine.

Workload: SmolLM2-135M-Instruct (the embedded copy), LoRA r64 / alpha 16 / dropout 0.1 on all
linear layers, fp32, beta 0.1, the first ``--pairs`` pairs of ``dpo_en_demo.json`` (shared
data; the generated persona pairs when it is missing) whose two sequences both fit in
``--max-length`` tokens (so no framework truncates and both train the very same tokens),
``--batch`` pairs per step, in file order (no shuffling), no gradient checkpointing. The
defaults are a small workload (a few minutes on a 2-core CPU); raise them on a bigger machine.

Each variant runs in its own process (so peak RSS is its own):
- ``xtuner``: the smollm2_135m_instruct_lora_dpo recipe (dataset pipeline, PreferenceFinetune,
  its optimizer) as shipped (``pack_to_max_length=False``): the ``--batch`` pairs of a step
  concatenated into one padding-free row (the same pairs per step as trl);
- ``xtuner_packed``: the recipe with ``pack_to_max_length=True``: whole pairs packed into rows of
  ``2 * max_length`` tokens, one row per step (so the pairs per step vary);
- ``trl``: trl.DPOTrainer with its defaults but for the settings above (padded batches);
  trl 1.16's ``padding_free`` is disabled by trl itself ("temporarily unavailable"), so it is
  reported, not run.

Prints a Markdown table: trained (reply) tokens/s after the first ``--warmup`` steps, peak
RSS, and seconds from process start to the end of the first optimizer step.

    python tools/bench_preference.py --pairs 12 --batch 2 --max-length 256

Separate processes run at different moments of a shared machine, so their ratios swing;
``--alternate ROUNDS`` compares the two xtuner_like variants within ONE process instead
(one model, the packed rows and the unpacked steps alternating for ROUNDS passes over the
pairs, after one warm-up step of each), and ``--profile`` adds torch.profiler's top operators
of one step of each (issue 23 item 9):

    python tools/bench_preference.py --alternate 3 --profile
"""
from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402  (T0 must come first: start -> first step includes imports)
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from bench_child import report, run_child  # noqa: E402  (tools/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ('xtuner', 'xtuner_packed', 'trl')
DATA = ROOT.parent / 'shared' / 'data' / 'dpo_en_demo.json'
MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct'
SMOL_SYSTEM = 'You are a helpful AI assistant named SmolLM, trained by Hugging Face'
LORA = dict(r=64, lora_alpha=16, lora_dropout=0.1, target_modules='all-linear',
            task_type='CAUSAL_LM')


def pairs_file(args, out_dir: Path) -> tuple[str, str]:
    """(data file, map_fn) holding the first ``args.pairs`` pairs that fit in max_length, in
    the OpenAI-messages form both frameworks read."""
    from xtuner_like.dataset.map_fns import get_map_fn
    if DATA.is_file():
        samples = [get_map_fn('sharegpt_preference')(r) for r in json.loads(DATA.read_text())]
    else:
        from xtuner_like.dataset.persona_pairs import persona_pairs
        samples = [get_map_fn('plain_preference')(r) for r in persona_pairs('Tuna', 'x')
                   ][:args.pairs]
    rows = []
    for s in samples:  # OpenAI messages: what both frameworks read
        # SmolLM2's chat_template (trl) adds this system text when a row has none; give it to
        # both, so both train on the same sequences.
        prompt = [] if s['conversation'][0].get('system') else [
            {'role': 'system', 'content': SMOL_SYSTEM}]
        for turn in s['conversation']:
            if turn.get('system'):
                prompt.append({'role': 'system', 'content': turn['system']})
            prompt.append({'role': 'user', 'content': turn['input']})
            if 'output' in turn:
                prompt.append({'role': 'assistant', 'content': turn['output']})
        rows.append({'prompt': prompt,
                     'chosen': [{'role': 'assistant', 'content': s['chosen']}],
                     'rejected': [{'role': 'assistant', 'content': s['rejected']}]})
    rows = fitting(rows, args.max_length)[:args.pairs]
    if len(rows) < args.pairs:
        raise SystemExit(f'only {len(rows)} pairs fit in --max-length {args.max_length}')
    path = out_dir / 'pairs.json'
    path.write_text(json.dumps(rows))
    return str(path), 'openai_preference'


def fitting(rows: list[dict], max_length: int) -> list[dict]:
    """The rows whose prompt + chosen and prompt + rejected both fit in ``max_length`` tokens
    (measured with the model's chat template; a few tokens of slack for the templates'
    small differences)."""
    from transformers import AutoTokenizer

    from xtuner_like.model.resolve import resolve_model_path
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(MODEL))

    def length(row: dict, side: str) -> int:
        ids = tokenizer.apply_chat_template(row['prompt'] + row[side], tokenize=True,
                                            return_dict=True)
        return len(ids['input_ids'])
    return [r for r in rows if max(length(r, 'chosen'), length(r, 'rejected')) <= max_length - 8]


def xtuner_setup(args, data: str, packed: bool):
    """(config, dataset) of the DPO recipe on ``data``, packed or not."""
    from xtuner_like.config import load_config, parse_options
    from xtuner_like.utils.build import build
    options = [f'data_files={data}', 'dataset_map_fn=openai_preference',
               f'max_length={args.max_length}', f'batch_size={args.batch}', 'lora_r=64',
               'lora_alpha=16', 'lora_dropout=0.1', 'loss.beta=0.1',
               'use_gradient_checkpointing=False',
               "dtype='fp32'", 'preference_eval=False', f'pack_to_max_length={packed}']
    cfg = load_config('smollm2_135m_instruct_lora_dpo', parse_options(options))
    return cfg, build(dict(cfg.train_dataloader['dataset'], use_cache=False))


def run_xtuner(args, data: str, packed: bool = False) -> dict:
    import torch
    from mmengine.optim import build_optim_wrapper

    from xtuner_like.dataset import preference_collate_fn
    from xtuner_like.utils.build import build
    cfg, dataset = xtuner_setup(args, data, packed)
    torch.manual_seed(0)
    model = build(cfg.model).train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    per_step = 1 if packed else args.batch  # a packed row, or the pairs of a step
    steps, first, times, tokens = len(dataset) // per_step, None, [], []
    for step in range(steps):
        batch = preference_collate_fn([dataset[i] for i in range(step * per_step,
                                                                  (step + 1) * per_step)])
        start = time.perf_counter()
        wrapper.update_params(model(**batch)['loss'])
        times.append(time.perf_counter() - start)
        tokens.append(int((batch['labels'][..., 1:] != -100).sum()))
        first = first or time.perf_counter() - T0
    return summary(first, times, tokens, args.warmup)


def run_alternating(args, data: str) -> None:
    """Packed rows and unpacked steps of one model, alternating in this process: trained
    tokens/s of each (and, with ``--profile``, the top operators of one step of each)."""
    import torch
    from mmengine.optim import build_optim_wrapper

    from xtuner_like.dataset import preference_collate_fn
    from xtuner_like.utils.build import build
    cfg, packed = xtuner_setup(args, data, True)
    _, unpacked = xtuner_setup(args, data, False)
    torch.manual_seed(0)
    model = build(cfg.model).train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    steps = {'xtuner_packed': [preference_collate_fn([packed[i]]) for i in range(len(packed))],
             'xtuner': [preference_collate_fn([unpacked[i] for i in range(k, k + args.batch)])
                        for k in range(0, len(unpacked) - args.batch + 1, args.batch)]}

    def step(batch: dict) -> float:
        start = time.perf_counter()
        wrapper.update_params(model(**batch)['loss'])
        return time.perf_counter() - start

    for batches in steps.values():
        step(batches[0])                       # warm-up
    seconds = dict.fromkeys(steps, 0.0)
    for _ in range(args.alternate):
        for name, batches in steps.items():
            seconds[name] += sum(step(b) for b in batches)
    trained = {name: sum(int((b['labels'][..., 1:] != -100).sum()) for b in batches)
               for name, batches in steps.items()}
    rates = {name: trained[name] * args.alternate / seconds[name] for name in steps}
    print(f'one process, {args.alternate} alternating passes over {args.pairs} pairs:')
    for name, batches in steps.items():
        rows = [b['input_ids'].shape[1] for b in batches]
        print(f'  {name}: {len(batches)} steps, rows of {rows} tokens: '
              f'{rates[name]:.1f} trained tokens/s ({rates[name] / rates["xtuner"]:.3f}x '
              'xtuner)')
    if args.profile:
        from torch.profiler import ProfilerActivity, profile
        for name, batches in steps.items():
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                step(batches[1])
            print(f'\n{name}, one step of {batches[1]["input_ids"].shape[1]} tokens:')
            print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=12))


def run_trl(args, data: str) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import DPOConfig, DPOTrainer
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    from xtuner_like.model.resolve import resolve_model_path
    path = resolve_model_path(MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    tokens: list[int] = []
    times: list[float] = []
    first: list[float] = []

    class CountingCollator(DataCollatorForPreference):
        def torch_call(self, examples):
            batch = super().torch_call(examples)
            # completion_mask[..., 1:]: the reply tokens whose log-prob is trained
            tokens.append(int(batch['completion_mask'][..., 1:].sum()))
            return batch

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.start = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.start)
            if not first:
                first.append(time.perf_counter() - T0)

    config = DPOConfig(
        output_dir=str(Path(args.out) / 'trl'), per_device_train_batch_size=args.batch,
        max_length=args.max_length, beta=0.1, learning_rate=5e-4, max_steps=args.pairs //
        args.batch, logging_steps=1000, save_strategy='no', report_to=[], use_cpu=True,
        bf16=False, gradient_checkpointing=False, train_sampling_strategy='sequential',
        dataloader_num_workers=0, seed=0)
    rows = json.loads(Path(data).read_text())
    trainer = DPOTrainer(model, args=config, train_dataset=Dataset.from_list(rows),
                         processing_class=tokenizer, peft_config=LoraConfig(**LORA),
                         data_collator=CountingCollator(pad_token_id=tokenizer.pad_token_id),
                         callbacks=[StepTimer()])
    trainer.train()
    return summary(first[0], times, tokens[:len(times)], args.warmup)


def summary(first: float, times: list[float], tokens: list[int], warmup: int) -> dict:
    seconds, trained = sum(times[warmup:]), sum(tokens[warmup:])
    return {'tokens_per_s': trained / max(seconds, 1e-9), 'first_step_s': first,
            'peak_rss_gib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
            'steps': len(times), 'trained_tokens': sum(tokens)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--pairs', type=int, default=12)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--max-length', type=int, default=256)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--out', default='work_dirs/bench_preference')
    p.add_argument('--alternate', type=int, metavar='ROUNDS',
                   help='compare packed and unpacked xtuner_like steps in one process')
    p.add_argument('--profile', action='store_true', help='with --alternate: top operators')
    p.add_argument('--run', choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument('--data', help=argparse.SUPPRESS)
    args = p.parse_args()
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    if args.run:  # a child: one variant, its result as the last line
        result = run_trl(args, args.data) if args.run == 'trl' else run_xtuner(
            args, args.data, packed=args.run == 'xtuner_packed')
        report(result)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data, _ = pairs_file(args, out)
    if args.alternate:
        run_alternating(args, data)
        return
    results = {}
    for variant in VARIANTS:
        cmd = [sys.executable, __file__, '--run', variant, '--data', data, '--out', str(out),
               '--pairs', str(args.pairs), '--batch', str(args.batch),
               '--max-length', str(args.max_length), '--warmup', str(args.warmup)]
        results[variant] = run_child(cmd, variant)
    base = results['trl']['tokens_per_s']
    print(f'DPO LoRA r64, SmolLM2-135M, {args.pairs} pairs of dpo_en_demo that fit in '
          f'max_length {args.max_length}, fp32, {os.cpu_count()} CPUs; tokens/s after '
          f'{args.warmup} warm-up step(s)\n')
    print('| run | trained tokens/s | vs trl | peak RSS (GiB) | start -> first step (s) |')
    print('| --- | ---: | ---: | ---: | ---: |')
    names = {'xtuner': f'xtuner_like, default ({args.batch} pairs/step in one row, no padding)',
             'xtuner_packed': f'xtuner_like, pack_to_max_length=True (pairs in rows of {2 * args.max_length})',
             'trl': f'trl DPOTrainer ({args.batch} pairs/step, padded)'}
    for variant, r in results.items():
        print(f'| {names[variant]} | {r["tokens_per_s"]:.0f} | {r["tokens_per_s"] / base:.2f}x '
              f'| {r["peak_rss_gib"]:.2f} | {r["first_step_s"]:.1f} |')
    print('| trl DPOTrainer padding_free | - | - | - | - (disabled in trl 1.16) |')


if __name__ == '__main__':
    main()
