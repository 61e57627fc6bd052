"""`xtuner-like convert {pth_to_hf,merge,gguf_to_hf,hf_to_gguf,quantize}`: take a trained
model out. ``quantize --method`` is the one front of the quantize methods; ``merge --bits 4``
and ``hf_to_gguf --type`` are two of them under their older names."""
from __future__ import annotations

import argparse

from ..config import add_cfg_options, parse_options
from ..errors import ConfigError

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
                       'without extra arguments; needs bitsandbytes): `quantize --method nf4`')
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
                         help='f32, f16, bf16, q8_0, q4_0 or a k-quant such as q4_k_m (needs '
                         "llama.cpp's llama-quantize; default f16): `quantize --method gguf:T`")
    to_gguf.add_argument('--base', help="base model of an adapter (default: its "
                         "adapter_config.json's base_model_name_or_path)")
    to_gguf.add_argument('--modelfile', action='store_true',
                         help='also write an Ollama Modelfile (template, stop tokens) beside it')
    to_gguf.add_argument('--overwrite', action='store_true', help='replace an existing file')
    to_gguf.set_defaults(run=run_hf_to_gguf)

    _add_quantize_parser(sub)


def _add_quantize_parser(sub) -> None:
    from ..convert.quantize import method_table
    quant = sub.add_parser(
        'quantize', help='quantize a trained model: --method nf4, gptq, gguf:q8_0, '
        'gguf:q4_k_m, ...', formatter_class=argparse.RawDescriptionHelpFormatter,
        description='Quantize MODEL_DIR (a model folder, or an adapter folder for the methods '
        'that merge it first) into OUT (a folder, or a .gguf file for gguf:*).',
        epilog='methods:\n' + method_table() + '\n\n`convert merge --bits 4` is --method nf4; '
        '`convert hf_to_gguf --type T` is --method gguf:T.')
    quant.add_argument('model_dir', help='the model folder (or adapter folder)')
    quant.add_argument('out', help='the folder or .gguf file to write')
    # `convert quantize CONFIG MODEL_DIR OUT_DIR` (GPTQ) from before --method had a choice
    quant.add_argument('legacy_out', nargs='?', help=argparse.SUPPRESS)
    quant.add_argument('--method', help='how to quantize (see the list below)')
    quant.add_argument('--config', help='gptq: the training config whose rows calibrate '
                       '(recipe name or the .py of the run)')
    quant.add_argument('--base', help="nf4/gguf:*: base model of an adapter folder (default: "
                       "its adapter_config.json's base_model_name_or_path)")
    quant.add_argument('--dtype', choices=DTYPES, help='nf4: dtype of the unquantized weights')
    quant.add_argument('--max-shard-size', help='nf4: largest weight file (default 2GB)')
    quant.add_argument('--device', choices=('cpu', 'cuda', 'auto'),
                       help='nf4: where an adapter merge runs (default cpu)')
    quant.add_argument('--bits', type=int, help='gptq: 2, 3, 4 or 8 (default 4)')
    quant.add_argument('--group-size', type=int, help='gptq: default 128')
    quant.add_argument('--desc-act', action='store_const', const=True,
                       help='gptq: activation-order GPTQ')
    quant.add_argument('--n-samples', type=int, help='gptq: calibration rows (default 128)')
    quant.add_argument('--batch-size', type=int, help='gptq: calibration batch size (default 1)')
    quant.add_argument('--overwrite', action='store_const', const=True,
                       help='gguf:*: replace an existing file')
    quant.add_argument('--modelfile', action='store_const', const=True,
                       help='gguf:*: also write an Ollama Modelfile (template, stop tokens)')
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
    if args.bits == 4:  # the nf4 quantize method, on an adapter merged into ``base``
        from ..convert.quantize import quantize
        out = quantize('nf4', args.adapter, args.out_dir, base=args.base, dtype=args.dtype,
                       max_shard_size=args.max_shard_size, device=args.device)
    else:
        from ..convert.merge import merge_adapter
        out = merge_adapter(args.base, args.adapter, args.out_dir, dtype=args.dtype,
                            max_shard_size=args.max_shard_size, device=args.device)
    print(f'saved merged model{" (4-bit NF4)" if args.bits else ""} to {out}')
    return 0


def run_gguf_to_hf(args: argparse.Namespace) -> int:
    from ..model.gguf import gguf_to_hf
    out = gguf_to_hf(args.gguf_file, args.out_dir, dtype=args.dtype)
    print(f'saved {args.gguf_file} as a Hugging Face model to {out}')
    return 0


def run_hf_to_gguf(args: argparse.Namespace) -> int:
    from ..convert.quantize import quantize
    out = quantize(f'gguf:{args.out_type}', args.model_dir, args.out_file, base=args.base,
                   overwrite=args.overwrite or None, modelfile=args.modelfile or None)
    _print_saved(out, args.out_type, args.modelfile)
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    from ..convert.quantize import quantize
    model_dir, out, config, method = args.model_dir, args.out, args.config, args.method
    if args.legacy_out is not None:  # CONFIG MODEL_DIR OUT_DIR
        if config is not None:
            raise ConfigError('give the config once: `convert quantize MODEL_DIR OUT --method '
                              'gptq --config CONFIG`')
        config, model_dir, out, method = model_dir, out, args.legacy_out, method or 'gptq'
    if method is None:
        raise ConfigError('name a method: --method nf4, gptq, gguf:q8_0, ... '
                          '(`convert quantize --help` lists them)')
    cfg_options = parse_options(args.cfg_options) if args.cfg_options else None
    out = quantize(method, model_dir, out, config=config, base=args.base, dtype=args.dtype,
                   max_shard_size=args.max_shard_size, device=args.device, bits=args.bits,
                   group_size=args.group_size, desc_act=args.desc_act,
                   n_samples=args.n_samples, batch_size=args.batch_size,
                   overwrite=args.overwrite, modelfile=args.modelfile, cfg_options=cfg_options)
    if method.startswith('gguf:'):
        _print_saved(out, method.removeprefix('gguf:'), args.modelfile)
    else:
        print(f'saved {out} (--method {method})')
    return 0


def _print_saved(out, out_type: str, modelfile: bool) -> None:
    print(f'saved {out} ({out.stat().st_size / 2**20:.1f} MiB, {out_type})')
    if modelfile:
        name = out.stem.replace('_', '-').lower()
        print(f'wrote {out.parent / "Modelfile"}\nrun it:\n  llama-cli -m {out} -cnv\n'
              f'  ollama create {name} -f {out.parent / "Modelfile"} && ollama run {name}')


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen conversion (each subparser sets ``run`` itself)."""
    return args.run(args)
