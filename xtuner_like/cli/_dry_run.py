"""`train --dry-run`: print the recipe's memory table (model/memory_plan.py) and build nothing."""
from __future__ import annotations

import argparse
import os
from typing import Any

from ..compat import cfg_dict
from ..config import load_config, parse_options
from ..errors import ConfigError


def _plain(spec: Any) -> dict | None:
    """A config dict spec's keyword arguments (its ``type`` dropped), or None."""
    if not isinstance(spec, dict):
        return None
    return {k: v for k, v in spec.items() if k != 'type'}


def zero_settings(name_or_path: str | None) -> tuple[int, bool, bool]:
    """(ZeRO stage, optimizer offloaded, weights offloaded) of a ``--deepspeed`` preset."""
    if not name_or_path:
        return 0, False, False
    from ..launch.deepspeed import load_preset
    zero = load_preset(name_or_path).get('zero_optimization', {})
    return (int(zero.get('stage', 0)), 'offload_optimizer' in zero, 'offload_param' in zero)


def dry_run(args: argparse.Namespace) -> int:
    """Load the recipe, estimate its memory on the meta device, print the table."""
    import torch

    from ..model.memory_plan import find_model_config, format_plan, plan, zero_share
    from ..utils.dtype import resolve_dtype
    cfg = cfg_dict(load_config(args.config, parse_options(args.cfg_options)))
    model = cfg.get('model') or {}
    llm = model.get('llm') if isinstance(model, dict) else None
    name = llm.get('pretrained_model_name_or_path') if isinstance(llm, dict) else None
    if not isinstance(name, str):
        raise ConfigError(f'{args.config}: --dry-run needs model.llm.pretrained_model_name_or_path')
    config, source = find_model_config(name, bool(llm.get('trust_remote_code', False)))
    dtype = resolve_dtype(llm.get('dtype', 'auto'), auto=True)
    tokens = model.get('max_tokens_per_batch') or (
        int(cfg.get('max_length') or 4096) * int(cfg.get('batch_size') or 1))
    stage, offload_opt, offload_param = zero_settings(args.deepspeed)
    world = int(os.environ.get('NPROC_PER_NODE', 1)) * int(os.environ.get('NNODES', 1))
    rows = plan(config, dtype, int(tokens), _plain(model.get('lora')),
                _plain(llm.get('quantization')), bool(model.get('fused_lora', True)))
    # The full fine-tune trains every weight, all in ``dtype``.
    params = rows[0].estimate.trainable // (torch.finfo(dtype).bits // 8)
    rows = [row.__class__(row.name, zero_share(row.estimate, stage, world, offload_opt,
                                               offload_param), row.is_recipe) for row in rows]
    zero = (f'ZeRO-{stage} over {world} process(es)'
            f'{", optimizer on the CPU" if offload_opt else ""}'
            f'{", weights on the CPU" if offload_param else ""}' if stage else
            f'{world} process(es), no ZeRO')
    print(f'dry run of {args.config}: nothing loaded or downloaded')
    print(f'model {name}: {params / 1e9:.2f}B parameters ({config.model_type}, config from '
          f'{source}); {str(dtype).replace("torch.", "")}; {tokens} tokens per micro-batch; '
          f'{zero}')
    print(format_plan(rows, model.get('use_gradient_checkpointing', False)))
    kind = getattr(model.get('type'), '__name__', str(model.get('type')))
    if not kind.endswith('SupervisedFinetune'):
        print(f'note: the model is a {kind.split(".")[-1]}; the table is for supervised '
              'fine-tuning on the same tokens (a preference or reward model adds its own '
              'activations and, with a reference model, its weights)')
    return 0

