"""`xtuner-like launch slurm|k8s CONFIG`: start a many-node run on a SLURM or Kubernetes cluster.

``launch slurm`` writes an sbatch script (launch/slurm.py) and submits it when ``sbatch``
exists; ``launch k8s`` writes a Kubeflow TrainJob or PyTorchJob (launch/k8s.py) and applies it
when ``kubectl`` exists. ``--dry-run`` prints either and changes nothing. Both run ``train``
on every node with the node settings the cluster gives (launch/rendezvous.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import add_cfg_options, load_config, parse_options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('launch', help='start a run on a SLURM or Kubernetes cluster')
    targets = p.add_subparsers(dest='target', metavar='TARGET', required=True)
    slurm = targets.add_parser('slurm', help='write an sbatch script and submit it')
    _common(slurm)
    slurm.add_argument('--partition', help='SLURM partition (sbatch --partition)')
    slurm.add_argument('--time', help='time limit, e.g. 24:00:00 (sbatch --time)')
    slurm.add_argument('--work-dir', help='where logs, checkpoints and the script go, on a '
                       'filesystem every node sees (default: ./work_dirs/<config name>)')
    k8s = targets.add_parser('k8s', help='write a Kubeflow TrainJob/PyTorchJob and apply it')
    _common(k8s)
    k8s.add_argument('--image', required=True, help='container image with xtuner-like installed')
    k8s.add_argument('--pvc', default='xtuner-like-workspace',
                     help='ReadWriteMany PersistentVolumeClaim mounted at /workspace for the '
                     'work dir and caches (default: %(default)s)')
    k8s.add_argument('--namespace', help='Kubernetes namespace (default: kubectl\'s)')
    k8s.add_argument('--kind', choices=('trainjob', 'pytorchjob'), default='trainjob',
                     help='Kubeflow Trainer v2 TrainJob (default) or Training Operator v1 '
                     'PyTorchJob')
    k8s.add_argument('--name', help='the job name (default: from the config name)')


def _common(p) -> None:
    p.add_argument('config', help='config path or shipped recipe name (see list-cfg); the '
                   'cluster must see the same path')
    p.add_argument('--nodes', type=int, required=True, help='nodes (machines or pods)')
    p.add_argument('--gpus-per-node', type=int, required=True,
                   help='GPUs per node: one training process each (0: one CPU process)')
    p.add_argument('--deepspeed', metavar='NAME|PATH.json', help='passed on to train')
    p.add_argument('--dry-run', action='store_true', help='print it; submit or apply nothing')
    add_cfg_options(p)
    p.set_defaults(run=run, light=True)


def train_args(args: argparse.Namespace) -> list[str]:
    """The options passed on to ``train`` on every node."""
    out = ['--deepspeed', args.deepspeed] if args.deepspeed else []
    return [*out, '--cfg-options', *args.cfg_options] if args.cfg_options else out


def run(args: argparse.Namespace) -> int:
    # the config and its options must load here, not fail on the cluster an hour later
    cfg = load_config(args.config, parse_options(args.cfg_options), resolve=False)
    if args.target == 'slurm':
        from ..launch import slurm
        work_dir = args.work_dir or str(Path('work_dirs') / Path(cfg.filename).stem)
        script = slurm.sbatch_script(args.config, args.nodes, args.gpus_per_node, work_dir,
                                     train_args(args), partition=args.partition,
                                     time=args.time)
        if args.dry_run:
            sys.stdout.write(script)
            return 0
        return slurm.submit(script, work_dir)
    from ..launch import k8s
    doc = k8s.manifest(args.kind, config=args.config, nodes=args.nodes,
                       gpus_per_node=args.gpus_per_node, image=args.image, pvc=args.pvc,
                       namespace=args.namespace, name=args.name, train_args=train_args(args))
    if args.dry_run:
        sys.stdout.write(k8s.to_yaml(doc))
        return 0
    return k8s.apply(doc)
