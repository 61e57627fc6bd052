"""Tests for xtuner_like/launch/rendezvous.py: one node spec from flags, xtuner-like's, torchrun's
(Kubeflow's) or SLURM's variables; torchrun's c10d options for several nodes."""
import pytest

from xtuner_like.errors import ConfigError
from xtuner_like.launch import rendezvous
from xtuner_like.launch.rendezvous import NodeSpec, node_spec


def test_nothing_to_launch_for_one_process():
    assert node_spec({}, {}) is None
    assert node_spec({'nproc_per_node': 1}, {}) is None
    assert node_spec({}, {'NPROC_PER_NODE': '1', 'SLURM_STEP_NUM_NODES': '1'}) is None


def test_flags_win_over_the_environment():
    env = {'NNODES': '4', 'NODE_RANK': '3', 'ADDR': 'far', 'PORT': '1'}
    spec = node_spec({'nnodes': 2, 'node_rank': 1, 'nproc_per_node': 2,
                      'endpoint': 'node0:29400', 'run_id': 'job7'}, env)
    assert spec == NodeSpec(2, 1, 2, 'node0:29400', 'job7', '--nnodes')


def test_xtuner_like_variables():
    spec = node_spec({}, {'NPROC_PER_NODE': '8', 'NNODES': '2', 'NODE_RANK': '1',
                          'ADDR': '10.0.0.1'})
    assert (spec.nnodes, spec.node_rank, spec.nproc_per_node, spec.endpoint) == (
        2, 1, 8, '10.0.0.1:29500')


def test_kubeflow_trainer_variables():
    """What Trainer v2's torch runtime (and torchrun's PET_ options) set in every pod."""
    env = {'PET_NNODES': '3', 'PET_NODE_RANK': '2', 'PET_NPROC_PER_NODE': '4',
           'PET_MASTER_ADDR': 'job-node-0-0.job', 'PET_MASTER_PORT': '29400'}
    spec = node_spec({}, env)
    assert spec == NodeSpec(3, 2, 4, 'job-node-0-0.job:29400', 'xtuner_like', 'PET_NNODES')


def test_slurm_step_variables(monkeypatch):
    monkeypatch.setattr(rendezvous, 'slurm_head_node', lambda env: 'gpu-001')
    env = {'SLURM_STEP_NUM_NODES': '2', 'SLURM_NODEID': '1', 'SLURM_JOB_ID': '4242',
           'SLURM_STEP_NODELIST': 'gpu-[001-002]'}
    spec = node_spec({'nproc_per_node': 8}, env)
    assert spec == NodeSpec(2, 1, 8, 'gpu-001:29500', '4242', 'SLURM_STEP_NUM_NODES')


def test_several_nodes_default_to_one_process_per_gpu(monkeypatch):
    monkeypatch.setattr(rendezvous, 'default_nproc', lambda: 4)
    assert node_spec({'nnodes': 2, 'endpoint': 'h:1'}, {}).nproc_per_node == 4


@pytest.mark.parametrize('flags, env, message', [
    ({'nnodes': 2, 'nproc_per_node': 1}, {}, r'--nnodes=2: say where node 0 is: --rdzv-endpoint'),
    ({'nnodes': 2, 'node_rank': 2, 'endpoint': 'h:1'}, {}, r'--node-rank=2: a node rank runs '
     r'from 0 to 1'),
    ({'nnodes': 2, 'endpoint': 'h:port', 'nproc_per_node': 1}, {}, r"'h:port': give HOST:PORT"),
    ({}, {'NNODES': 'two', 'NPROC_PER_NODE': '2'}, r"NNODES='two': expected a whole number"),
    ({'nnodes': 0}, {}, 'must be at least 1'),
])
def test_bad_settings_are_one_clear_error(flags, env, message):
    with pytest.raises(ConfigError, match=message):
        node_spec(flags, env)


def test_endpoint_port_defaults_to_29500():
    assert rendezvous.parse_endpoint('node0') == ('node0', 29500)
    assert rendezvous.parse_endpoint('[::1]:1234') == ('[::1]', 1234)


def test_torchrun_options_one_node_and_several():
    one = NodeSpec(1, 0, 2).torchrun_args(port=29555)
    assert one == ['--nproc_per_node=2', '--nnodes=1', '--node_rank=0',
                   '--master_addr=127.0.0.1', '--master_port=29555']
    node0 = NodeSpec(2, 0, 8, 'n0:29400', 'run').torchrun_args()
    assert {'--rdzv_backend=c10d', '--rdzv_endpoint=n0:29400', '--rdzv_id=run',
            '--rdzv_conf=is_host=1', '--max_restarts=0', '--nnodes=2'} <= set(node0)
    assert '--rdzv_conf=is_host=0' in NodeSpec(2, 1, 8, 'n0:29400').torchrun_args()
    assert not any(a.startswith('--master') for a in node0)
