"""`xtuner-like convert {pth_to_hf,merge,gguf_to_hf}`: take a trained model out."""
from __future__ import annotations

import argparse

from ..config import add_cfg_options, parse_options

DTYPES = ('fp32', 'bf16', 'fp16')


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('convert', help='checkpoint -> HF folder, merge an adapter, '
                              'import/export GGUF, quantize')
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
    pth.add_argument('--ema', action='store_true', help='export the EMA of the trained weights '
                     '(a run with ema=dict(...)) instead of the live ones')
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
    merge.add_argument('--bits', type=int, choices=(4,),
                       help='save bitsandbytes 4-bit NF4 weights (from_pretrained loads them '
                       'without extra arguments; needs bitsandbytes)')
    merge.set_defaults(run=run_merge)

    gguf = sub.add_parser('gguf_to_hf', help='a GGUF file (Llama family) -> a HF model folder')
    gguf.add_argument('gguf_file', help='the .gguf file')
    gguf.add_argument('out_dir', help='folder to create')
    gguf.add_argument('--dtype', choices=DTYPES, default='fp32', help='dtype of the weights')
    gguf.set_defaults(run=run_gguf_to_hf)

    to_gguf = sub.add_parser('hf_to_gguf', help='a HF model folder or a LoRA adapter folder '
                             '-> one GGUF file for llama.cpp / Ollama')
    to_gguf.add_argument('model_dir', help='model folder, or an adapter folder such as '
                         '<work-dir>/hf (merged into its base first)')
    to_gguf.add_argument('out_file', help='the .gguf file to write')
    to_gguf.add_argument('--type', dest='out_type', default='f16',
                         help='f32, f16, bf16, q8_0 or q4_0 (default f16)')
    to_gguf.add_argument('--base', help="base model of an adapter (default: its "
                         "adapter_config.json's base_model_name_or_path)")
    to_gguf.add_argument('--modelfile', action='store_true',
                         help='also write an Ollama Modelfile (template, stop tokens) beside it')
    to_gguf.add_argument('--overwrite', action='store_true', help='replace an existing file')
    to_gguf.set_defaults(run=run_hf_to_gguf)

    quant = sub.add_parser('quantize', help='GPTQ-quantize a full model for GPU serving '
                           '(gptqmodel, CUDA), calibrated on the recipe\'s own data')
    quant.add_argument('config', help='the training config (recipe name or the .py of the run)')
    quant.add_argument('model_dir', help='the full model folder (from `convert merge`)')
    quant.add_argument('out_dir', help='folder to create')
    quant.add_argument('--method', default='gptq', help='gptq (the only method so far)')
    quant.add_argument('--bits', type=int, default=4, help='2, 3, 4 or 8')
    quant.add_argument('--group-size', type=int, default=128)
    quant.add_argument('--desc-act', action='store_true', help='activation-order GPTQ')
    quant.add_argument('--n-samples', type=int, default=128, help='calibration rows')
    quant.add_argument('--batch-size', type=int, default=1)
    add_cfg_options(quant)
    quant.set_defaults(run=run_quantize)


def run_pth_to_hf(args: argparse.Namespace) -> int:
    from ..convert.pth_to_hf import pth_to_hf
    out = pth_to_hf(args.config, args.checkpoint, args.out_dir, dtype=args.dtype,
                    max_shard_size=args.max_shard_size,
                    safe_serialization=args.safe_serialization,
                    cfg_options=parse_options(args.cfg_options), ema=args.ema)
    kind = 'adapter' if (out / 'adapter_config.json').is_file() else 'full model'
    print(f'saved {kind}{" (EMA weights)" if args.ema else ""} to {out}')
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from ..convert.merge import merge_adapter
    out = merge_adapter(args.base, args.adapter, args.out_dir, dtype=args.dtype,
                        max_shard_size=args.max_shard_size, device=args.device,
                        bits=args.bits)
    print(f'saved merged model{" (4-bit NF4)" if args.bits else ""} to {out}')
    return 0


def run_gguf_to_hf(args: argparse.Namespace) -> int:
    from ..model.gguf import gguf_to_hf
    out = gguf_to_hf(args.gguf_file, args.out_dir, dtype=args.dtype)
    print(f'saved {args.gguf_file} as a Hugging Face model to {out}')
    return 0


def run_hf_to_gguf(args: argparse.Namespace) -> int:
    from ..convert.hf_to_gguf import hf_to_gguf
    out = hf_to_gguf(args.model_dir, args.out_file, args.out_type, base=args.base,
                     overwrite=args.overwrite)
    print(f'saved {out} ({out.stat().st_size / 2**20:.1f} MiB, {args.out_type})')
    if args.modelfile:
        from ..convert.modelfile import write_modelfile
        modelfile = write_modelfile(out)
        print(f'wrote {modelfile}\nrun it:\n  llama-cli -m {out} -cnv\n'
              f'  ollama create {out.stem.replace("_", "-").lower()} -f {modelfile} && '
              f'ollama run {out.stem.replace("_", "-").lower()}')
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    from ..convert.quantize import quantize
    out = quantize(args.method, model_dir=args.model_dir, config=args.config,
                   out_dir=args.out_dir, bits=args.bits, group_size=args.group_size,
                   desc_act=args.desc_act, n_samples=args.n_samples,
                   batch_size=args.batch_size, cfg_options=parse_options(args.cfg_options))
    print(f'saved {args.method.upper()} {args.bits}-bit model to {out}')
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen conversion (each subparser sets ``run`` itself)."""
    return args.run(args)
