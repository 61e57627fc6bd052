"""`xtuner-like convert {pth_to_hf,merge,gguf_to_hf}`: take a trained model out."""
from __future__ import annotations

import argparse

from ..config import add_cfg_options, parse_options

DTYPES = ('fp32', 'bf16', 'fp16')


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('convert', help='checkpoint -> HF folder, merge an adapter, '
                              'import a GGUF file')
    sub = p.add_subparsers(dest='conversion', metavar='CONVERSION', required=True)

    pth = sub.add_parser('pth_to_hf', help='a training checkpoint -> a PEFT adapter folder '
                         '(LoRA/QLoRA) or a full model folder')
    pth.add_argument('config', help='the training config (the .py in the work dir, a path '
                     'or a recipe name)')
    pth.add_argument('checkpoint', help='iter_N.pth, or a DeepSpeed checkpoint folder')
    pth.add_argument('out_dir', help='folder to create')
    pth.add_argument('--dtype', choices=DTYPES,
                     help="dtype of the saved weights (default: the checkpoint's)")
    pth.add_argument('--max-shard-size', default='2GB', help='largest weight file (full models)')
    pth.add_argument('--no-safe-serialization', dest='safe_serialization',
                     action='store_false', help='write adapter_model.bin, not safetensors')
    add_cfg_options(pth)
    pth.set_defaults(run=run_pth_to_hf)

    merge = sub.add_parser('merge', help='merge a PEFT adapter into its base model')
    merge.add_argument('base', help='base model folder or hub id')
    merge.add_argument('adapter', help='adapter folder (from pth_to_hf or <work_dir>/hf)')
    merge.add_argument('out_dir', help='folder to create')
    merge.add_argument('--dtype', choices=DTYPES, help="default: the base model's dtype")
    merge.add_argument('--max-shard-size', default='2GB', help='largest weight file')
    merge.add_argument('--device', default='cpu', choices=('cpu', 'cuda', 'auto'),
                       help='where the merge runs')
    merge.set_defaults(run=run_merge)

    gguf = sub.add_parser('gguf_to_hf', help='a GGUF file (Llama family) -> a HF model folder')
    gguf.add_argument('gguf_file', help='the .gguf file')
    gguf.add_argument('out_dir', help='folder to create')
    gguf.add_argument('--dtype', choices=DTYPES, default='fp32', help='dtype of the weights')
    gguf.set_defaults(run=run_gguf_to_hf)


def run_pth_to_hf(args: argparse.Namespace) -> int:
    from ..convert.pth_to_hf import pth_to_hf
    out = pth_to_hf(args.config, args.checkpoint, args.out_dir, dtype=args.dtype,
                    max_shard_size=args.max_shard_size,
                    safe_serialization=args.safe_serialization,
                    cfg_options=parse_options(args.cfg_options))
    kind = 'adapter' if (out / 'adapter_config.json').is_file() else 'full model'
    print(f'saved {kind} to {out}')
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from ..convert.merge import merge_adapter
    out = merge_adapter(args.base, args.adapter, args.out_dir, dtype=args.dtype,
                        max_shard_size=args.max_shard_size, device=args.device)
    print(f'saved merged model to {out}')
    return 0


def run_gguf_to_hf(args: argparse.Namespace) -> int:
    from ..model.gguf import gguf_to_hf
    out = gguf_to_hf(args.gguf_file, args.out_dir, dtype=args.dtype)
    print(f'saved {args.gguf_file} as a Hugging Face model to {out}')
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen conversion (each subparser sets ``run`` itself)."""
    return args.run(args)
