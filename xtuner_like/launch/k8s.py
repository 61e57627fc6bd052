"""``xtuner-like launch k8s``: a Kubeflow manifest that trains on N pods of G GPUs.

Two kinds, built on what clusters run:

- ``trainjob``: Kubeflow Trainer v2, ``TrainJob`` of ``trainer.kubeflow.org/v1alpha1`` on the
  ``torch-distributed`` ClusterTrainingRuntime. The runtime's torch plugin sets ``PET_NNODES``,
  ``PET_NPROC_PER_NODE``, ``PET_NODE_RANK`` and ``PET_MASTER_ADDR/PORT`` in every pod, which
  ``train`` reads (launch/rendezvous.py); restarts follow the runtime's JobSet failure policy.
- ``pytorchjob``: Training Operator v1, ``PyTorchJob`` of ``kubeflow.org/v1`` (one Master, N-1
  Workers, restartPolicy OnFailure). The operator sets ``MASTER_ADDR``, ``MASTER_PORT`` and
  ``RANK`` (the pod's index); the command passes them on with Kubernetes' ``$(VAR)`` expansion.

Both mount a ReadWriteMany PersistentVolumeClaim at ``/workspace`` for the work dir, the
dataset cache (``XTUNER_LIKE_HOME``) and the Hugging Face cache, and a memory-backed
``/dev/shm`` (NCCL and dataloader workers need more than the default 64 MB). Every start runs
``--resume auto``, so a restarted pod continues from the last checkpoint.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import ConfigError, UnknownNameError

KINDS = ('trainjob', 'pytorchjob')
MOUNT = '/workspace'
DEFAULT_PVC = 'xtuner-like-workspace'
RUNTIME = 'torch-distributed'
TRAINER_CONTAINER = 'node'        # the torch runtime's trainer container
PYTORCH_CONTAINER = 'pytorch'     # the name Training Operator v1 requires
ENV = {'XTUNER_LIKE_HOME': f'{MOUNT}/.xtuner_like', 'HF_HOME': f'{MOUNT}/.cache/huggingface',
       'TOKENIZERS_PARALLELISM': 'false', 'PYTHONUNBUFFERED': '1',
       # a dead peer ends the run with an error instead of a hang (torch's default, made sure)
       'TORCH_NCCL_ASYNC_ERROR_HANDLING': '3', 'NCCL_DEBUG': 'WARN'}


def resource_name(config: str, name: str | None = None) -> str:
    """An RFC 1035 label (what TrainJob requires) from ``name`` or the config's name."""
    text = re.sub(r'[^a-z0-9-]+', '-', (name or Path(config).stem).lower()).strip('-')
    if name and text != name:
        raise ConfigError(f'--name {name}: use lower-case letters, digits and "-" '
                          f'(e.g. {text or "my-run"})')
    if not text or not text[0].isalpha():
        text = 'xtl-' + text
    return text[:63].rstrip('-')


def _env(extra: dict | None = None) -> list[dict]:
    return [{'name': k, 'value': str(v)} for k, v in {**ENV, **(extra or {})}.items()]


def _volumes(pvc: str) -> tuple[list[dict], list[dict]]:
    volumes = [{'name': 'workspace', 'persistentVolumeClaim': {'claimName': pvc}},
               {'name': 'dshm', 'emptyDir': {'medium': 'Memory'}}]
    mounts = [{'name': 'workspace', 'mountPath': MOUNT}, {'name': 'dshm', 'mountPath': '/dev/shm'}]
    return volumes, mounts


def _resources(gpus_per_node: int) -> dict:
    # quantities are strings in the API (an int would be read back as one)
    return {'limits': {'nvidia.com/gpu': str(gpus_per_node)}} if gpus_per_node else {}


def _metadata(name: str, namespace: str | None) -> dict:
    meta = {'name': name, 'labels': {'app.kubernetes.io/name': 'xtuner-like'}}
    return {**meta, 'namespace': namespace} if namespace else meta


def train_command(config: str, name: str, train_args: list[str] = ()) -> list[str]:
    return ['xtuner-like', 'train', config, '--work-dir', f'{MOUNT}/work_dirs/{name}',
            '--resume', 'auto', *train_args]


def trainjob(config: str, nodes: int, gpus_per_node: int, image: str, pvc: str = DEFAULT_PVC,
             namespace: str | None = None, name: str | None = None,
             train_args: list[str] = ()) -> dict:
    """A Kubeflow Trainer v2 ``TrainJob`` on the ``torch-distributed`` runtime."""
    check(nodes, gpus_per_node, image)
    name = resource_name(config, name)
    volumes, mounts = _volumes(pvc)
    trainer = {'image': image, 'command': train_command(config, name, train_args),
               'env': _env(), 'numNodes': nodes, 'numProcPerNode': max(gpus_per_node, 1)}
    if gpus_per_node:
        trainer['resourcesPerNode'] = _resources(gpus_per_node)
    return {
        'apiVersion': 'trainer.kubeflow.org/v1alpha1', 'kind': 'TrainJob',
        'metadata': _metadata(name, namespace),
        'spec': {
            'runtimeRef': {'name': RUNTIME, 'apiGroup': 'trainer.kubeflow.org',
                           'kind': 'ClusterTrainingRuntime'},
            'trainer': trainer,
            'podTemplateOverrides': [{
                'targetJobs': [{'name': TRAINER_CONTAINER}],
                'spec': {'volumes': volumes,
                         'containers': [{'name': TRAINER_CONTAINER, 'volumeMounts': mounts}]},
            }],
        },
    }


def pytorchjob(config: str, nodes: int, gpus_per_node: int, image: str, pvc: str = DEFAULT_PVC,
               namespace: str | None = None, name: str | None = None,
               train_args: list[str] = (), backoff_limit: int = 3) -> dict:
    """A Training Operator v1 ``PyTorchJob``: one Master and ``nodes - 1`` Workers."""
    check(nodes, gpus_per_node, image)
    name = resource_name(config, name)
    volumes, mounts = _volumes(pvc)
    nproc = max(gpus_per_node, 1)
    container = {
        'name': PYTORCH_CONTAINER, 'image': image,
        'command': [*train_command(config, name, train_args), '--nnodes', str(nodes),
                    '--nproc-per-node', str(nproc), '--node-rank', '$(RANK)',
                    '--rdzv-endpoint', '$(MASTER_ADDR):$(MASTER_PORT)', '--rdzv-id', name],
        'env': _env(), 'volumeMounts': mounts}
    if gpus_per_node:
        container['resources'] = _resources(gpus_per_node)
    template = {'spec': {'containers': [container], 'volumes': volumes}}
    replicas = {'Master': {'replicas': 1, 'restartPolicy': 'OnFailure', 'template': template}}
    if nodes > 1:
        replicas['Worker'] = {'replicas': nodes - 1, 'restartPolicy': 'OnFailure',
                              'template': template}
    return {
        'apiVersion': 'kubeflow.org/v1', 'kind': 'PyTorchJob',
        'metadata': _metadata(name, namespace),
        'spec': {'nprocPerNode': str(nproc),
                 'runPolicy': {'backoffLimit': backoff_limit, 'cleanPodPolicy': 'None'},
                 'pytorchReplicaSpecs': replicas},
    }


BUILDERS = {'trainjob': trainjob, 'pytorchjob': pytorchjob}


def manifest(kind: str, **kwargs) -> dict:
    """The manifest of ``kind`` (``trainjob`` or ``pytorchjob``)."""
    if kind not in BUILDERS:
        raise UnknownNameError('manifest kind', kind, BUILDERS)
    return BUILDERS[kind](**kwargs)


def check(nodes: int, gpus_per_node: int, image: str) -> None:
    problems = []
    if nodes < 1:
        problems.append(f'--nodes {nodes}: need at least 1')
    if gpus_per_node < 0:
        problems.append(f'--gpus-per-node {gpus_per_node}: cannot be negative')
    if not image or any(c.isspace() for c in image):
        problems.append(f'--image {image!r}: give a container image with xtuner-like '
                        'installed, e.g. registry.example.com/xtuner-like:latest')
    if problems:
        raise ConfigError('; '.join(problems))


def to_yaml(doc: dict) -> str:
    import yaml
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def apply(doc: dict) -> int:
    """``kubectl apply -f -`` with the manifest when kubectl exists (else say how); its code."""
    kubectl = shutil.which('kubectl')
    if kubectl is None:
        print('no kubectl here: save the manifest (--dry-run prints it) and run '
              '`kubectl apply -f FILE` where the cluster is reachable', file=sys.stderr)
        return 1
    return subprocess.run([kubectl, 'apply', '-f', '-'], input=to_yaml(doc), text=True,
                          check=False).returncode
