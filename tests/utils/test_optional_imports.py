"""Commands started as the `xtuner-like` program import only the optional packages they use."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from xtuner_like.config import load_config
from xtuner_like.config.recipes import recipe_paths
from xtuner_like.utils.optional_imports import needed_by_config, without

ROOT = Path(__file__).resolve().parents[2]
# The `xtuner-like` program (main() reading sys.argv), reporting what it imported.
PROGRAM = ('import json, sys; from xtuner_like.cli.main import main; sys.argv[0] = "xtuner-like"; '
           'rc = main(); print("IMPORTED", json.dumps([m for m in ("bitsandbytes", "deepspeed") '
           'if sys.modules.get(m)])); sys.exit(rc)')


def test_without_hides_only_what_is_not_imported_yet():
    with without(['json', 'a_module_nobody_imported']) as hidden:
        assert hidden == ['a_module_nobody_imported']
        with pytest.raises(ImportError):
            import a_module_nobody_imported  # noqa: F401
        import json as again  # already imported: untouched
        assert again is json
    assert 'a_module_nobody_imported' not in sys.modules


@pytest.mark.parametrize('name', sorted(recipe_paths()))
def test_recipes_need_bitsandbytes_exactly_when_they_quantize(name):
    cfg = load_config(name, resolve=False)
    quantized = cfg.get('quantization') is not None
    assert needed_by_config(cfg) == ({'bitsandbytes'} if quantized else set())


def test_a_config_that_names_deepspeed_keeps_it():
    from mmengine.config import Config
    cfg = Config(dict(strategy=dict(type='DeepSpeedStrategy', config='ds.json')))
    assert needed_by_config(cfg) == {'deepspeed'}


def run_program(args: list[str], cwd: Path, home: Path) -> tuple[int, list[str], str]:
    proc = subprocess.run([sys.executable, '-c', PROGRAM, *map(str, args)], capture_output=True,
                          text=True, cwd=cwd,
                          env={'PYTHONPATH': str(ROOT), 'HF_HUB_OFFLINE': '1',
                               'PATH': '/usr/bin:/bin', 'TOKENIZERS_PARALLELISM': 'false',
                               'XTUNER_LIKE_HOME': str(home)})
    imported = json.loads(proc.stdout.split('IMPORTED')[-1]) if 'IMPORTED' in proc.stdout else []
    return proc.returncode, imported, proc.stderr


@pytest.mark.parametrize('recipe, expected', [
    ('smollm2_135m_instruct_lora_identity', []),
    ('smollm2_135m_instruct_qlora_alpaca', ['bitsandbytes']),
])
def test_a_run_imports_only_what_it_uses(recipe, expected, tmp_path, tiny_model_dir, shared_data):
    data = ['max_length=128']
    if expected:
        pytest.importorskip('bitsandbytes')
        # its default max_length: at 128 this file trips a datasets cast error (int64 to null)
        data = [f'data_files={shared_data / "alpaca_en_demo.json"}']
    rc, imported, err = run_program(
        ['train', recipe, '--work-dir', tmp_path / 'wd', '--cfg-options',
         f'pretrained_model_name_or_path={tiny_model_dir}', 'train_cfg.max_iters=1',
         'evaluation_inputs=[]', 'export_hf=False', *data],
        tmp_path, tmp_path / 'home')
    assert rc == 0, err[-3000:]
    assert imported == expected
