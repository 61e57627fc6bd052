"""Shared fixtures: a tiny byte-level BPE tokenizer and a tiny random Llama, built locally."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

SHARED_DATA = Path(__file__).resolve().parents[2] / 'shared' / 'data'

# Every special token a built-in template may emit, so each template renders to known ids.
SPECIAL_TOKENS = [
    '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<s>', '</s>', '<unk>', '<pad>',
    '<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>',
    '<|end_of_text|>', '[INST]', '[/INST]', '<|system|>', '<|user|>', '<|assistant|>',
    '<|end|>', '<start_of_turn>', '<end_of_turn>', '<bos>', '<eos>',
    '<|im_sep|>', '<|User|>', '<|Assistant|>', '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>',
    '<|action_start|>', '<|action_end|>', '<|interpreter|>', '<|plugin|>',
]

CORPUS = [
    'The quick brown fox jumps over the lazy dog.',
    'Who are you? I am Tuna, an assistant made by the xtuner_like team.',
    'Give three tips for staying healthy. Eat well, sleep enough and exercise.',
    'system user assistant Below is an instruction that describes a task.',
    '0123456789 ### Instruction: ### Response: Human: Assistant: USER: ASSISTANT:',
]


def make_tiny_tokenizer(save_dir: Path | None = None):
    """A byte-level BPE tokenizer (vocab ~400) with ChatML-style special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300 + len(SPECIAL_TOKENS), special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token='<s>', eos_token='<|im_end|>',
        pad_token='<pad>', unk_token='<unk>')
    if save_dir is not None:
        hf.save_pretrained(save_dir)
    return hf


def make_tiny_llama(vocab_size: int, save_dir: Path | None = None, seed: int = 0):
    """A 2-layer Llama with hidden size 64 (the least bitsandbytes 4-bit handles) and random weights."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        tie_word_embeddings=False, bos_token_id=None, eos_token_id=None, pad_token_id=None)
    model = LlamaForCausalLM(config)
    if save_dir is not None:
        model.save_pretrained(save_dir)
    return model


@pytest.fixture(scope='session')
def tiny_tokenizer():
    return make_tiny_tokenizer()


@pytest.fixture(scope='session')
def tiny_model_dir(tmp_path_factory) -> Path:
    """A directory holding a tiny Llama and its tokenizer, loadable by from_pretrained."""
    path = tmp_path_factory.mktemp('tiny_llama')
    tok = make_tiny_tokenizer(path)
    make_tiny_llama(len(tok), path)
    return path


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real data folder {SHARED_DATA} is missing (see README.md, section "Tests and the shared data folder")')
    return SHARED_DATA


def run_cli(args: list[str], capsys=None) -> int:
    """Run ``xtuner-like ARGS`` in this process and return its exit code."""
    from xtuner_like.cli.main import main
    return main([str(a) for a in args])


# QLoRA (bitsandbytes 4-bit NF4, which runs on the CPU) as a --cfg-options value.
QLORA = ("quantization={'type': 'transformers.BitsAndBytesConfig', 'load_in_4bit': True, "
         "'bnb_4bit_quant_type': 'nf4', 'bnb_4bit_use_double_quant': True, "
         "'bnb_4bit_compute_dtype': 'float32'}")


def launch_two_processes(work: Path, model_dir: Path, args: list[str], options: list[str],
                         recipe: str = 'smollm2_135m_instruct_lora_identity'):
    """``NPROC_PER_NODE=2 xtuner-like train`` in a fresh interpreter (gloo on the CPU); the
    finished process. Skips when ``args`` ask for DeepSpeed and it is not installed."""
    import importlib.util
    import subprocess
    import sys
    if '--deepspeed' in args and importlib.util.find_spec('deepspeed') is None:
        pytest.skip('deepspeed is not installed: pip install -r requirements/deepspeed.txt')
    env = {k: v for k, v in os.environ.items()
           if k not in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')}
    env.update(NPROC_PER_NODE='2', OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, '-m', 'xtuner_like', 'train', recipe, '--work-dir', str(work), *args,
         '--cfg-options', f'pretrained_model_name_or_path={model_dir}', *options],
        env=env, capture_output=True, text=True, timeout=900)


def train_two_processes(work: Path, model_dir: Path, args: list[str], options: list[str],
                        recipe: str = 'smollm2_135m_instruct_lora_identity') -> str:
    """:func:`launch_two_processes`, which must succeed; its output (stdout, then stderr:
    the log lines go to stdout, the launcher's and the progress bars' to stderr)."""
    out = launch_two_processes(work, model_dir, args, options, recipe)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return out.stdout + out.stderr


TINY_TRAIN_OPTIONS = ['max_iters=12', 'save_steps=4', 'log_interval=1',
                      'evaluation_max_new_tokens=2']


@pytest.fixture(scope='session')
def xl_home(tmp_path_factory) -> Path:
    """An isolated XTUNER_LIKE_HOME (dataset cache, identity data) for the whole session."""
    home = tmp_path_factory.mktemp('xl_home')
    os.environ['XTUNER_LIKE_HOME'] = str(home)
    return home


@pytest.fixture(scope='session')
def tiny_run(tmp_path_factory, tiny_model_dir, xl_home) -> Path:
    """Work dir of a finished 12-iteration LoRA run of the identity recipe on the tiny Llama."""
    work = tmp_path_factory.mktemp('tiny_run')
    rc = run_cli(['train', 'smollm2_135m_instruct_lora_identity', '--work-dir', work,
                  '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}',
                  *TINY_TRAIN_OPTIONS])
    assert rc == 0
    return work


def logged_scalars(work_dir: Path) -> dict[int, dict]:
    """iteration -> every scalar logged at it, from the scalars.json that mmengine's
    LocalVisBackend writes."""
    import json
    rows: dict[int, dict] = {}
    for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            rows.setdefault(row['step'], {}).update(row)
    return rows


def logged_losses(work_dir: Path) -> dict[int, float]:
    """iteration -> loss from the scalars.json that mmengine's LocalVisBackend writes."""
    return {step: row['loss'] for step, row in logged_scalars(work_dir).items() if 'loss' in row}


# The 2-process modes of the distributed tests: DDP, ZeRO-2, and ZeRO-3 partitioning every
# weight (DeepSpeed's default threshold would leave a tiny model's weights whole).
ZERO3_PARTITIONED = Path(__file__).parent / 'cli' / 'zero3_partition_all.json'
DISTRIBUTED_MODES = {'ddp': [], 'zero2': ['--deepspeed', 'deepspeed_zero2'],
                     'zero3': ['--deepspeed', str(ZERO3_PARTITIONED)]}
