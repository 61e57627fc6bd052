"""Tests for xtuner_like/launch/k8s.py: the TrainJob and PyTorchJob manifests, checked against
the fields their CRDs document and, for every Kubernetes type inside, the ``kubernetes``
client's models (each part must read back into its model and serialize to the same data).

The field lists are written here from the documented API types: Kubeflow Trainer v2.1
``TrainJob`` (trainer.kubeflow.org/v1alpha1: TrainJobSpec, RuntimeRef, Trainer,
PodTemplateOverride, ContainerOverride) and Training Operator v1 ``PyTorchJob``
(kubeflow.org/v1: PyTorchJobSpec, ReplicaSpec, RunPolicy). A key ending in ``*`` is required.
"""
import json
import os
import re

import pytest
import yaml

from xtuner_like.errors import ConfigError, UnknownNameError
from xtuner_like.launch import k8s

kubernetes = pytest.importorskip('kubernetes', reason='pip install -r requirements/test.txt')

STR, INT, BOOL = str, int, bool
STR_MAP = {str: str}
CONTAINER_OVERRIDE = {'name*': STR, 'env': ['V1EnvVar'], 'volumeMounts': ['V1VolumeMount']}
TRAINJOB = {
    'apiVersion*': STR, 'kind*': STR, 'metadata*': 'V1ObjectMeta',
    'spec*': {
        'runtimeRef*': {'name*': STR, 'apiGroup': STR, 'kind': STR},
        'initializer': {'dataset': dict, 'model': dict},
        'trainer': {'image': STR, 'command': [STR], 'args': [STR], 'env': ['V1EnvVar'],
                    'numNodes': INT, 'resourcesPerNode': 'V1ResourceRequirements',
                    'numProcPerNode': (INT, STR)},
        'labels': STR_MAP, 'annotations': STR_MAP,
        'podTemplateOverrides': [{
            'targetJobs*': [{'name*': STR}], 'metadata': 'V1ObjectMeta',
            'spec': {'serviceAccountName': STR, 'nodeSelector': STR_MAP,
                     'affinity': 'V1Affinity', 'tolerations': ['V1Toleration'],
                     'volumes': ['V1Volume'], 'initContainers': [CONTAINER_OVERRIDE],
                     'containers': [CONTAINER_OVERRIDE],
                     'schedulingGates': ['V1PodSchedulingGate'],
                     'imagePullSecrets': ['V1LocalObjectReference']}}],
        'suspend': BOOL, 'managedBy': STR,
    },
}
REPLICA = {'replicas': INT, 'template*': 'V1PodTemplateSpec',
           'restartPolicy': frozenset({'Always', 'OnFailure', 'Never', 'ExitCode'})}
PYTORCHJOB = {
    'apiVersion*': STR, 'kind*': STR, 'metadata*': 'V1ObjectMeta',
    'spec*': {
        'runPolicy': {'cleanPodPolicy': frozenset({'All', 'Running', 'None'}),
                      'ttlSecondsAfterFinished': INT, 'activeDeadlineSeconds': INT,
                      'backoffLimit': INT, 'schedulingPolicy': dict, 'suspend': BOOL,
                      'managedBy': STR},
        'elasticPolicy': dict,
        'pytorchReplicaSpecs*': {'Master': REPLICA, 'Worker': REPLICA},
        'nprocPerNode': STR,
    },
}


def k8s_model(data, model: str, where: str) -> list[str]:
    """Problems of ``data`` as the kubernetes client's ``model``: it must read back the same."""
    client = kubernetes.client.ApiClient()

    class Response:
        pass
    response = Response()
    response.data = json.dumps(data)
    try:
        back = client.sanitize_for_serialization(client.deserialize(response, model))
    except (ValueError, TypeError) as exc:
        return [f'{where}: not a valid {model}: {exc}']
    return [] if back == data else [f'{where}: {model} reads {data} back as {back}']


def problems(doc, schema, where='') -> list[str]:
    """Every difference between ``doc`` and ``schema`` (see the module docstring)."""
    if isinstance(schema, str):
        return k8s_model(doc, schema, where)
    if isinstance(schema, frozenset):
        return [] if doc in schema else [f'{where}: {doc!r} is not one of {sorted(schema)}']
    if isinstance(schema, list):
        if not isinstance(doc, list):
            return [f'{where}: expected a list']
        return [p for i, item in enumerate(doc) for p in problems(item, schema[0], f'{where}[{i}]')]
    if isinstance(schema, dict) and list(schema) == [str]:
        ok = isinstance(doc, dict) and all(isinstance(k, str) and isinstance(v, str)
                                           for k, v in doc.items())
        return [] if ok else [f'{where}: expected a map of strings']
    if isinstance(schema, dict):
        if not isinstance(doc, dict):
            return [f'{where}: expected an object']
        fields = {k.rstrip('*'): v for k, v in schema.items()}
        found = [f'{where}.{k[:-1]}: required' for k in schema if k.endswith('*')
                 and k[:-1] not in doc]
        found += [f'{where}.{k}: not a field of the CRD' for k in doc if k not in fields]
        for key, value in doc.items():
            if key in fields:
                found += problems(value, fields[key], f'{where}.{key}')
        return found
    ok = isinstance(doc, schema) and not (schema is INT and isinstance(doc, bool))
    return [] if ok else [f'{where}: expected {schema}, found {doc!r}']


ARGS = dict(config='smollm2_135m_instruct_lora_identity', nodes=2, gpus_per_node=8,
            image='registry.example.com/xtuner-like:1.0', pvc='team-rwx', namespace='ml',
            train_args=['--deepspeed', 'deepspeed_zero2'])


def test_the_checker_finds_wrong_manifests():
    doc = k8s.trainjob(**ARGS)
    doc['spec']['trainer']['numNode'] = 2
    doc['spec']['trainer']['env'].append({'name': 'X', 'valueFrom': {'secretKeyRef': 'oops'}})
    del doc['spec']['runtimeRef']
    found = problems(doc, TRAINJOB)
    assert '.spec.trainer.numNode: not a field of the CRD' in found
    assert '.spec.runtimeRef: required' in found
    assert any(p.startswith('.spec.trainer.env[') for p in found)


def test_trainjob_fits_the_documented_fields_and_the_kubernetes_models():
    doc = k8s.trainjob(**ARGS)
    assert problems(doc, TRAINJOB) == []
    assert (doc['apiVersion'], doc['kind']) == ('trainer.kubeflow.org/v1alpha1', 'TrainJob')
    assert re.fullmatch(r'[a-z]([-a-z0-9]*[a-z0-9])?', doc['metadata']['name'])
    assert len(doc['metadata']['name']) <= 63 and doc['metadata']['namespace'] == 'ml'
    spec = doc['spec']
    assert spec['runtimeRef']['name'] == 'torch-distributed'
    trainer = spec['trainer']
    assert (trainer['numNodes'], trainer['numProcPerNode']) == (2, 8)
    assert trainer['resourcesPerNode'] == {'limits': {'nvidia.com/gpu': '8'}}
    assert trainer['command'][:3] == ['xtuner-like', 'train', ARGS['config']]
    assert trainer['command'][-4:] == ['--resume', 'auto', '--deepspeed', 'deepspeed_zero2']
    env = {e['name']: e['value'] for e in trainer['env']}
    assert len(env) == len(trainer['env'])               # listType=map: names are unique
    assert env['XTUNER_LIKE_HOME'].startswith('/workspace/')
    assert 'TORCH_NCCL_ASYNC_ERROR_HANDLING' in env
    override = spec['podTemplateOverrides'][0]
    assert override['targetJobs'] == [{'name': 'node'}]
    assert override['spec']['containers'][0]['name'] == 'node'
    claims = [v['persistentVolumeClaim']['claimName'] for v in override['spec']['volumes']
              if 'persistentVolumeClaim' in v]
    assert claims == ['team-rwx']


def test_pytorchjob_fits_the_documented_fields_and_the_kubernetes_models():
    doc = k8s.pytorchjob(**{**ARGS, 'nodes': 3})
    assert problems(doc, PYTORCHJOB) == []
    assert (doc['apiVersion'], doc['kind']) == ('kubeflow.org/v1', 'PyTorchJob')
    replicas = doc['spec']['pytorchReplicaSpecs']
    assert (replicas['Master']['replicas'], replicas['Worker']['replicas']) == (1, 2)
    assert {r['restartPolicy'] for r in replicas.values()} == {'OnFailure'}
    container = replicas['Master']['template']['spec']['containers'][0]
    assert container['name'] == 'pytorch'       # the name Training Operator v1 requires
    cmd = container['command']
    assert cmd[cmd.index('--nnodes') + 1] == '3' and cmd[cmd.index('--node-rank') + 1] == '$(RANK)'
    assert cmd[cmd.index('--rdzv-endpoint') + 1] == '$(MASTER_ADDR):$(MASTER_PORT)'
    assert doc['spec']['nprocPerNode'] == '8'


def test_one_node_has_no_workers_and_cpu_has_no_gpu_limits():
    doc = k8s.pytorchjob(**{**ARGS, 'nodes': 1, 'gpus_per_node': 0})
    assert problems(doc, PYTORCHJOB) == []
    assert list(doc['spec']['pytorchReplicaSpecs']) == ['Master']
    assert 'resources' not in doc['spec']['pytorchReplicaSpecs']['Master']['template']['spec'][
        'containers'][0]
    assert 'resourcesPerNode' not in k8s.trainjob(**{**ARGS, 'gpus_per_node': 0})['spec'][
        'trainer']


def test_names_follow_rfc_1035():
    assert k8s.resource_name('configs/qwen2_5_7b_lora.py') == 'qwen2-5-7b-lora'
    assert k8s.resource_name('7b_run') == 'xtl-7b-run'
    assert len(k8s.resource_name('x' * 100)) == 63
    with pytest.raises(ConfigError, match='--name My_Run: use lower-case letters'):
        k8s.resource_name('cfg', 'My_Run')


def test_bad_options_are_one_error():
    with pytest.raises(ConfigError, match=r"--nodes 0: need at least 1; --image ''"):
        k8s.trainjob(**{**ARGS, 'nodes': 0, 'image': ''})
    with pytest.raises(UnknownNameError, match="no manifest kind 'mpijob'"):
        k8s.manifest('mpijob', **ARGS)


def test_yaml_round_trip():
    doc = k8s.trainjob(**ARGS)
    assert yaml.safe_load(k8s.to_yaml(doc)) == doc


def test_apply_pipes_the_manifest_to_kubectl(tmp_path, monkeypatch):
    fake = tmp_path / 'kubectl'
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "args"}\ncat > {tmp_path / "stdin"}\n')
    fake.chmod(0o755)
    monkeypatch.setenv('PATH', f'{tmp_path}{os.pathsep}{os.environ["PATH"]}')
    doc = k8s.trainjob(**ARGS)
    assert k8s.apply(doc) == 0
    assert (tmp_path / 'args').read_text().split() == ['apply', '-f', '-']
    assert yaml.safe_load((tmp_path / 'stdin').read_text()) == doc


def test_without_kubectl_it_says_how(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('PATH', str(tmp_path))
    assert k8s.apply(k8s.trainjob(**ARGS)) == 1
    assert 'no kubectl here' in capsys.readouterr().err
