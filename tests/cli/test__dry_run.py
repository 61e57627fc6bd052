"""`train --dry-run`: the memory table of a 7B recipe, with nothing loaded or downloaded."""
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli

from xtuner_like.model.family_shapes import FAMILY_SHAPES

ROOT = Path(__file__).resolve().parents[2]
# Runs the CLI and reports the process's peak resident memory (KiB) on stderr.
MEASURED_MAIN = ('import resource, sys; from xtuner_like.cli.main import main; rc = main(sys.argv[1:]); '
                 'print("maxrss_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, '
                 'file=sys.stderr); sys.exit(rc)')


def seven_b_folder(path: Path) -> Path:
    """A folder with Llama-2-7B's config.json and a weights file that cannot be read."""
    path.mkdir()
    (path / 'config.json').write_text(json.dumps(FAMILY_SHAPES['meta-llama/Llama-2-7b-chat-hf']))
    (path / 'model.safetensors').write_bytes(b'not weights: a dry run must not open this')
    return path


def table_rows(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in text.splitlines()
            if line.split() and line.split()[0] in ('full', 'LoRA', 'QLoRA')}


def test_7b_qlora_dry_run_prints_the_table_without_loading(tmp_path):
    folder = seven_b_folder(tmp_path / 'llama7b')
    proc = subprocess.run(
        [sys.executable, '-c', MEASURED_MAIN, 'train', 'llama2_7b_chat_qlora_alpaca', '--dry-run',
         '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
         f'pretrained_model_name_or_path={folder}', 'max_length=2048'],
        capture_output=True, text=True, cwd=tmp_path,
        env={'PYTHONPATH': str(ROOT), 'HF_HUB_OFFLINE': '1', 'PATH': '/usr/bin:/bin',
             'XTUNER_LIKE_HOME': str(tmp_path / 'home')})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '6.74B parameters' in proc.stdout and '2048 tokens per micro-batch' in proc.stdout
    rows = table_rows(proc.stdout)
    assert rows['QLoRA'][3] == '*' and float(rows['full'][1]) > 25  # 6.74B fp32 weights
    peak_gib = int(proc.stderr.split('maxrss_kib')[1].split()[0]) / 2 ** 20
    assert peak_gib < 2, f'{peak_gib:.1f} GiB peak: a 7B model was allocated'
    assert not (tmp_path / 'wd').exists()  # nothing written either


def test_dry_run_splits_per_process_under_zero(tmp_path, monkeypatch, capsys):
    folder = seven_b_folder(tmp_path / 'llama7b')
    options = ['--cfg-options', f'pretrained_model_name_or_path={folder}', 'max_length=1024']
    assert run_cli(['train', 'llama2_7b_chat_lora_alpaca', '--dry-run', *options]) == 0
    alone = table_rows(capsys.readouterr().out)
    monkeypatch.setenv('NPROC_PER_NODE', '4')
    assert run_cli(['train', 'llama2_7b_chat_lora_alpaca', '--dry-run', '--deepspeed',
                    'deepspeed_zero3', *options]) == 0
    out = capsys.readouterr().out
    assert 'ZeRO-3 over 4 process(es)' in out
    split = table_rows(out)
    assert alone['LoRA'][2] == '*'  # the recipe's setup
    # ZeRO-3: weights, gradients and AdamW states a quarter each; activations unchanged
    for column in (1, 3, 4):
        assert abs(float(split['full'][column]) - float(alone['full'][column]) / 4) <= 0.01
    assert split['full'][5] == alone['full'][5]


def test_dry_run_of_an_unknown_offline_model_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    rc = run_cli(['train', 'llama2_7b_chat_lora_alpaca', '--dry-run', '--cfg-options',
                  'pretrained_model_name_or_path=nobody/nothing'])
    assert rc == 1
    assert "no config.json for 'nobody/nothing'" in capsys.readouterr().err
