#!/usr/bin/env python
"""GRPO LoRA: xtuner_like against trl's GRPOTrainer on the same workload, one script, one machine.

Workload (both sides): SmolLM2-135M-Instruct (the embedded copy), LoRA r16 / alpha 32 /
dropout 0 on all linear layers, fp32, no gradient checkpointing; the generated additions
task ("What is a + b? Put only the number inside <answer></answer>.", rendered with
SmolLM2's chat template and its default system text); ``--prompts`` prompts per step, each
answered ``--group`` times (G) at temperature 1 for at most ``--max-completion`` tokens;
rewards ``exact_answer`` (weight 1) + ``format`` ``<answer>.*?</answer>`` (weight 0.2), the
very same functions (model/rewards.py) on both sides; the GRPO loss with beta 0 and
epsilon 0.2, one policy update per generation batch, lr ``--lr``, ``--steps`` updates.

Each variant runs in its own process (so peak RSS is its own):
- ``xtuner``: ``xtuner-like train smollm2_135m_instruct_lora_grpo`` with the settings above
  (the Runner, the RL loop, its hooks), timed by wrapping ``GRPOFinetune.rollout``,
  ``generate_batch`` and ``RLTrainLoop.run_iter``;
- ``trl``: ``trl.GRPOTrainer`` with its defaults (Hugging Face ``generate``) but for the
  settings above (``loss_type='grpo'`` instead of its default 'dapo': the same loss on both
  sides; ``gradient_checkpointing=False`` and fp32 as ours on a CPU), timed by callbacks and
  by wrapping its generation.

Prints a Markdown table: seconds per step and steps/s against trl (wall time between the
ends of consecutive steps after ``--warmup`` steps: generation, rewards, update, logging),
generation tokens/s (completion tokens / generation time), training tokens/s (prompt +
completion tokens / the rest of the step), completion tokens per step, peak RSS, and seconds
from process start to the end of the first step.

    python tools/bench_rl.py --steps 8

Absolute speed differs between machines and moments of a shared one: compare within one
run. Completions are sampled, so their lengths differ between the two runs (see the
completion tokens column).
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
VARIANTS = ('xtuner', 'trl')
MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct'
RECIPE = 'smollm2_135m_instruct_lora_grpo'
LORA = dict(r=16, lora_alpha=32, lora_dropout=0.0, target_modules='all-linear',
            task_type='CAUSAL_LM')
REWARDS = [dict(type='exact_answer', weight=1.0),
           dict(type='format', pattern=r'<answer>.*?</answer>', weight=0.2)]


def prompts_file(args, out_dir: Path) -> str:
    """The addition rows both frameworks read (``{'prompt', 'answer'}``, JSON)."""
    from xtuner_like.dataset.arithmetic import addition_rows
    rows = addition_rows(args.prompts * (args.steps + 1), 'train')
    path = out_dir / 'prompts.json'
    path.write_text(json.dumps(rows))
    return str(path)


class Clock:
    """Step ends, generation seconds and token counts of one run."""

    def __init__(self) -> None:
        self.ends: list[float] = []          # perf_counter at the end of each step
        self.gen_seconds: list[float] = []   # per step
        self.step_seconds: list[float] = []  # from the step's start to its end
        self.completion_tokens: list[int] = []
        self.prompt_tokens: list[int] = []

    def summary(self, warmup: int) -> dict:
        n = len(self.ends)
        if n <= warmup + 1:
            raise SystemExit(f'only {n} steps ran; raise --steps above --warmup + 1')
        measured = range(warmup + 1, n)
        wall = self.ends[-1] - self.ends[warmup]
        gen = sum(self.gen_seconds[i] for i in measured)
        rest = sum(self.step_seconds[i] - self.gen_seconds[i] for i in measured)
        completion = sum(self.completion_tokens[i] for i in measured)
        tokens = completion + sum(self.prompt_tokens[i] for i in measured)
        return {'seconds_per_step': wall / len(measured),
                'generation_tokens_per_s': completion / max(gen, 1e-9),
                'train_tokens_per_s': tokens / max(rest, 1e-9),
                'completion_tokens_per_step': completion / len(measured),
                'peak_rss_gib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
                'first_step_s': self.ends[0] - T0, 'steps': n}


def xtuner_options(args, data: str) -> list[str]:
    return [f'pretrained_model_name_or_path={MODEL}', f'data_files={data}',
            f'max_iters={args.steps}', f'batch_size={args.prompts}',
            f'group_size={args.group}', f'max_completion_length={args.max_completion}',
            'temperature=1.0', f'lr={args.lr}', 'lora_r=16', 'lora_alpha=32',
            'lora_dropout=0.0', 'num_iterations=1', 'loss.type=GRPOLoss', 'loss.beta=0.0',
            'loss.epsilon=0.2', "dtype='fp32'", 'use_gradient_checkpointing=False',
            'evaluation_inputs=[]', 'export_hf=False', f'save_steps={args.steps * 10}',
            'completions_every=0', 'log_interval=1', 'seed=0']


def run_xtuner(args, data: str) -> dict:
    """The recipe through the train command in this process, with timing wrappers."""
    from xtuner_like.cli.main import main as cli_main
    from xtuner_like.engine import rl_loop
    from xtuner_like.model import rl

    clock, step_start = Clock(), [0.0]
    generate_batch, rollout, run_iter = rl.generate_batch, rl.GRPOFinetune.rollout, \
        rl_loop.RLTrainLoop.run_iter

    def timed_generate(model, tokenizer, prompts, *a, **k):
        start = time.perf_counter()
        out = generate_batch(model, tokenizer, prompts, *a, **k)
        clock.gen_seconds.append(time.perf_counter() - start)
        clock.completion_tokens.append(sum(len(ids) for ids in out))
        clock.prompt_tokens.append(sum(len(p) for p in prompts))
        return out

    def timed_rollout(self, *a, **k):
        step_start[0] = time.perf_counter()
        return rollout(self, *a, **k)

    def timed_run_iter(self, *a, **k):
        out = run_iter(self, *a, **k)
        clock.ends.append(time.perf_counter())
        clock.step_seconds.append(clock.ends[-1] - step_start[0])
        return out

    rl.generate_batch, rl.GRPOFinetune.rollout = timed_generate, timed_rollout
    rl_loop.RLTrainLoop.run_iter = timed_run_iter
    code = cli_main(['train', RECIPE, '--work-dir', str(Path(args.out) / 'xtuner'),
                     '--overwrite', '--cfg-options', *xtuner_options(args, data)])
    if code:
        raise SystemExit(f'xtuner-like train exited with {code}')
    return clock.summary(args.warmup)


def trl_reward_functions():
    """Our reward functions in trl's signature (completions are message lists)."""
    from xtuner_like.model.rewards import build_reward
    functions = []
    for spec in REWARDS:
        reward = build_reward({k: v for k, v in spec.items() if k != 'weight'})

        def score(prompts, completions, answer, _reward=reward, **kwargs):
            texts = [c[-1]['content'] if isinstance(c, list) else c for c in completions]
            return _reward(texts, [{'answer': a} for a in answer]).tolist()
        score.__name__ = reward.name
        functions.append(score)
    return functions, [spec['weight'] for spec in REWARDS]


def run_trl(args, data: str) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from xtuner_like.model.resolve import resolve_model_path
    path = resolve_model_path(MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    clock = Clock()

    class Timed(GRPOTrainer):
        def _generate_single_turn(self, prompt_ids, *a, **k):
            start = time.perf_counter()
            completion_ids, logprobs = super()._generate_single_turn(prompt_ids, *a, **k)
            clock.gen_seconds.append(time.perf_counter() - start)
            clock.completion_tokens.append(sum(len(ids) for ids in completion_ids))
            clock.prompt_tokens.append(sum(len(ids) for ids in prompt_ids))
            return completion_ids, logprobs

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.start = time.perf_counter()

        def on_step_end(self, *a, **k):
            clock.ends.append(time.perf_counter())
            clock.step_seconds.append(clock.ends[-1] - self.start)

    functions, weights = trl_reward_functions()
    config = GRPOConfig(
        output_dir=str(Path(args.out) / 'trl'), per_device_train_batch_size=args.prompts *
        args.group, num_generations=args.group, max_completion_length=args.max_completion,
        temperature=1.0, learning_rate=args.lr, max_steps=args.steps, loss_type='grpo',
        beta=0.0, epsilon=0.2, num_iterations=1, reward_weights=weights, save_strategy='no',
        report_to=[], use_cpu=True, bf16=False, gradient_checkpointing=False,
        dataloader_num_workers=0, logging_steps=1, seed=0)
    rows = [{'prompt': [{'role': 'user', 'content': r['prompt']}], 'answer': r['answer']}
            for r in json.loads(Path(data).read_text())]
    trainer = Timed(model, reward_funcs=functions, args=config,
                    train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                    peft_config=LoraConfig(**LORA), callbacks=[StepTimer()])
    trainer.train()
    return clock.summary(args.warmup)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--steps', type=int, default=8, help='optimizer steps (updates) per run')
    p.add_argument('--warmup', type=int, default=1, help='steps left out of the rates')
    p.add_argument('--prompts', type=int, default=2, help='prompts per step')
    p.add_argument('--group', type=int, default=8, help='completions per prompt (G)')
    p.add_argument('--max-completion', type=int, default=24)
    p.add_argument('--lr', type=float, default=5e-4)
    p.add_argument('--out', default='work_dirs/bench_rl')
    p.add_argument('--only', choices=VARIANTS, help='run one variant (still in a child)')
    p.add_argument('--run', choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument('--data', help=argparse.SUPPRESS)
    args = p.parse_args()
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    if args.run:  # a child: one variant, its result as the last line
        result = run_trl(args, args.data) if args.run == 'trl' else run_xtuner(args, args.data)
        report(result)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = prompts_file(args, out)
    results = {}
    for variant in ([args.only] if args.only else VARIANTS):
        cmd = [sys.executable, __file__, '--run', variant, '--data', data, '--out', str(out),
               '--steps', str(args.steps), '--warmup', str(args.warmup),
               '--prompts', str(args.prompts), '--group', str(args.group),
               '--max-completion', str(args.max_completion), '--lr', str(args.lr)]
        results[variant] = run_child(cmd, variant)
        print(f'{variant}: {results[variant]}', file=sys.stderr, flush=True)
    base = results.get('trl', next(iter(results.values())))['seconds_per_step']
    print(f'GRPO LoRA r16, SmolLM2-135M, {args.prompts} prompts x G={args.group} completions '
          f'of <= {args.max_completion} tokens per step, fp32, {os.cpu_count()} CPUs; '
          f'{args.steps} steps, rates over the last {args.steps - args.warmup - 1}\n')
    print('| run | s/step | steps/s vs trl | generation tokens/s | training tokens/s '
          '| completion tokens/step | peak RSS (GiB) | start -> first step (s) |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    names = {'xtuner': 'xtuner_like (generate_batch, packed update)',
             'trl': 'trl GRPOTrainer (HF generate, padded update)'}
    for variant, r in results.items():
        print(f'| {names[variant]} | {r["seconds_per_step"]:.2f} '
              f'| {base / r["seconds_per_step"]:.2f}x | {r["generation_tokens_per_s"]:.0f} '
              f'| {r["train_tokens_per_s"]:.0f} | {r["completion_tokens_per_step"]:.0f} '
              f'| {r["peak_rss_gib"]:.2f} | {r["first_step_s"]:.1f} |')


if __name__ == '__main__':
    main()
