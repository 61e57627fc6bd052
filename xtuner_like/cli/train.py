"""`xtuner-like train CONFIG`: train with mmengine's Runner (FlexibleRunner with --deepspeed).

``NPROC_PER_NODE=N [NNODES= NODE_RANK= ADDR= PORT=] xtuner-like train ...`` re-runs the same
command under ``torch.distributed.run`` with the same Python interpreter (launch/distributed.py).
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

from ..config import add_cfg_options, load_config, parse_options
from ..errors import ConfigError, XtunerLikeError
from ..utils.quiet import VERBOSE_ENV
from ._work_dir import check_work_dir, check_writable


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('train', help='train from a config file or recipe name')
    p.add_argument('config', help='config path or shipped recipe name (see list-cfg)')
    p.add_argument('--work-dir', help='where logs, checkpoints and TensorBoard files go '
                   '(default: ./work_dirs/<config name>)')
    p.add_argument('--resume', metavar='auto|PATH',
                   help="'auto' continues from the work dir's latest checkpoint")
    p.add_argument('--overwrite', action='store_true',
                   help="start over in a work dir that holds an earlier run's checkpoints "
                   '(they are deleted)')
    p.add_argument('--seed', type=int, help='random seed (overrides the config)')
    p.add_argument('--deterministic', action='store_true',
                   help='deterministic algorithms (slower)')
    p.add_argument('--deepspeed', metavar='NAME|PATH.json',
                   help='train with DeepSpeed: a preset (list-cfg --deepspeed) or a JSON file; '
                   '"auto" values are filled from the config')
    p.add_argument('--launcher', choices=('none', 'pytorch', 'slurm'), default='none',
                   help='how the processes were started (set NPROC_PER_NODE=N to start N '
                   'processes under torchrun; use slurm under srun)')
    add_node_arguments(p)
    p.add_argument('--dry-run', action='store_true',
                   help='print the memory estimate (full / LoRA / QLoRA, per process) from the '
                   "model's config.json and exit: no weights are loaded or downloaded")
    p.add_argument('--verbose', action='store_true',
                   help='also print the environment, config and hook table (always in the log '
                   'file in the work dir)')
    add_cfg_options(p)
    add_tracking_args(p)
    p.set_defaults(run=run, optional_packages=optional_packages)


def add_node_arguments(p) -> None:
    """Where this node stands in a run of several (launch/rendezvous.py); unset ones come from
    the environment torchrun, SLURM or Kubeflow set."""
    g = p.add_argument_group('several processes or nodes (torchrun c10d rendezvous)')
    g.add_argument('--nnodes', type=int, help='nodes (machines) in the run (default 1)')
    g.add_argument('--node-rank', type=int,
                   help='this node: 0 .. nnodes-1; node 0 hosts the rendezvous')
    g.add_argument('--nproc-per-node', type=int,
                   help='processes on this node (default: NPROC_PER_NODE, or one per GPU '
                   'with --nnodes)')
    g.add_argument('--rdzv-endpoint', metavar='HOST:PORT',
                   help="node 0's address and a free port on it, the same on every node")
    g.add_argument('--rdzv-id', help='a name for the run, the same on every node '
                   '(default: the SLURM job id, or xtuner_like)')


def node_flags(args: argparse.Namespace) -> dict:
    """The node settings given on the command line, for ``launch.rendezvous.node_spec``."""
    return {'nnodes': getattr(args, 'nnodes', None), 'node_rank': getattr(args, 'node_rank', None),
            'nproc_per_node': getattr(args, 'nproc_per_node', None),
            'endpoint': getattr(args, 'rdzv_endpoint', None),
            'run_id': getattr(args, 'rdzv_id', None)}


def add_tracking_args(p: argparse.ArgumentParser) -> None:
    """``--report-to`` and the sweep flags (engine/tracking.py, engine/sweep.py)."""
    p.add_argument('--report-to', metavar='NAMES',
                   help='tracking backends, comma-separated: tensorboard (default), mlflow, '
                   'wandb, or none (the config knob report_to)')
    p.add_argument('--sweep', nargs='+', metavar='KEY=V1,V2', default=None,
                   help='train the grid of these values one run after another, each in '
                   '<work-dir>/<values>; a stopped sweep resumes where it left off')
    p.add_argument('--sweep-sort', metavar='METRIC',
                   help='sort the final runs table by METRIC (default: val_loss, else loss)')
    p.add_argument('--sweep-mode', choices=('auto', 'local', 'slurm'), default='auto',
                   help='auto: a SLURM job array where sbatch exists, else one run after another')
    p.add_argument('--sweep-index', type=int, help=argparse.SUPPRESS)  # one SLURM array task


def optional_packages(args: argparse.Namespace) -> set[str]:
    """The optional packages this run uses (utils/optional_imports.py): deepspeed with
    ``--deepspeed``, bitsandbytes when the config refers to it."""
    from ..utils.optional_imports import OPTIONAL, needed_by_config
    try:
        cfg = load_config(args.config, parse_options(args.cfg_options), resolve=False)
    except XtunerLikeError:
        return set(OPTIONAL)  # the error is reported when the command runs
    return ({'deepspeed'} if args.deepspeed else set()) | needed_by_config(cfg)


def prepare_config(args: argparse.Namespace):
    """Load the config and apply the command-line settings to it."""
    options = parse_options(args.cfg_options)
    if args.seed is not None:
        options['seed'] = args.seed
    if args.deterministic:
        options['deterministic'] = True
    if getattr(args, 'report_to', None):
        options['report_to'] = [n for n in args.report_to.split(',') if n.strip()]
    cfg = load_config(args.config, options)
    from ..engine.tracking import check_installed, parse_report_to, record_run_info
    check_installed(parse_report_to(cfg.get('report_to')))   # one line: what to install
    record_run_info(cfg, options, getattr(args, 'sweep_point', None))
    cfg.work_dir = args.work_dir or str(Path('work_dirs') / Path(cfg.filename).stem)
    check_writable(cfg.work_dir)
    check_work_dir(cfg.work_dir, bool(args.resume), getattr(args, 'overwrite', False))
    if args.resume:
        if args.resume != 'auto':
            exists = Path(args.resume).is_dir() if args.deepspeed else Path(args.resume).is_file()
            if not exists:
                kind = 'DeepSpeed checkpoint folder' if args.deepspeed else 'checkpoint file'
                raise ConfigError(f'--resume {args.resume}: no such {kind}')
            cfg.load_from = args.resume
        cfg.resume = True
    cfg.launcher = args.launcher
    if args.deepspeed:
        from ..launch.deepspeed import apply_deepspeed
        apply_deepspeed(cfg, args.deepspeed)
    return cfg


def prepare_models(cfg) -> None:
    """Convert an embedded model (e.g. SmolLM2's GGUF) now, before any process group exists.

    Once torch.distributed is initialised, transformers' ``save_pretrained`` writes only on
    rank 0, so a conversion done by another rank would leave a folder without weights.
    """
    from ..model.resolve import resolve_model_path
    specs = (cfg.get('model', {}).get('llm'), cfg.get('tokenizer'))
    names = {spec.get('pretrained_model_name_or_path') for spec in specs if isinstance(spec, dict)}
    for name in sorted(n for n in names if isinstance(n, str)):
        resolve_model_path(name)


_RUNS_IN_THIS_PROCESS = itertools.count(1)


def name_this_run(cfg) -> None:
    """Give every run after the first in one process its own experiment name.

    mmengine keys its logger, visualizer and message hub by ``<name>_<time to the second>``;
    two runs started within one second in one process (a notebook, the tests) would share
    them, and the second run's scalars would go to the first run's folder.
    """
    run = next(_RUNS_IN_THIS_PROCESS)
    if run > 1:
        name = cfg.get('experiment_name') or Path(cfg.filename or 'run').stem
        cfg.experiment_name = f'{name}_run{run}'


def run(args: argparse.Namespace) -> int:
    if getattr(args, 'dry_run', False):
        from ._dry_run import dry_run
        return dry_run(args)
    if getattr(args, 'sweep', None):
        from ..engine.sweep import run_sweep
        return run_sweep(args, run)
    # Imported here, not at the top: they load torch, and `--help` must start without them.
    from ..dataset.build import check_dataset_spec
    from ..launch.distributed import (peer_lost, process_group, relaunch, slurm_env,
                                      torchrun_command, under_torchrun)
    from ..utils.build import locate
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    if getattr(args, 'verbose', False):
        os.environ[VERBOSE_ENV] = '1'  # torchrun ranks inherit it
    if args.launcher == 'slurm':
        slurm_env()  # WORLD_SIZE is needed to reconcile the DeepSpeed batch size
    cfg = prepare_config(args)  # config errors show here once, before any process starts
    dataset = cfg.get('train_dataloader', {}).get('dataset')
    if isinstance(dataset, dict) and hasattr(locate(dataset.get('type')), 'pipeline_specs'):
        check_dataset_spec(dataset)
    prepare_models(cfg)
    if args.launcher == 'none' and under_torchrun():
        args.launcher = 'pytorch'   # started by torchrun itself (a user's or Kubeflow's)
    if args.launcher == 'none' and torchrun_command([], flags=node_flags(args)) is not None:
        return relaunch(getattr(args, 'argv', None) or sys.argv[1:], flags=node_flags(args))
    if args.deepspeed:
        from ..engine.flexible_runner import XFlexibleRunner as runner_cls
    else:
        from ..engine.runner import XRunner as runner_cls
    from ..engine.tracking_record import recording
    with process_group(args.launcher, use_deepspeed=bool(args.deepspeed)):
        name_this_run(cfg)
        runner = runner_cls.from_cfg(cfg)
        with recording(cfg.work_dir):   # run.json says diverged/stopped if training raises
            try:
                runner.train()
            except RuntimeError as exc:
                lost = peer_lost(exc) if args.launcher != 'none' else None
                if lost is None:
                    raise
                raise lost from None
    return 0


# How gloo and NCCL word a collective that failed because another process went away.
