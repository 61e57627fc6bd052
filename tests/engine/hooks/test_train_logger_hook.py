"""TrainLoggerHook: the first and the last iteration are always logged (issue 23, item 8)."""
from conftest import logged_losses, run_cli

RECIPE = 'smollm2_135m_instruct_lora_identity'


def train(work, tiny_model_dir, *options):
    return run_cli(['train', RECIPE, '--work-dir', work, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', 'evaluation_inputs=[]',
                    'export_hf=False', *options])


def test_a_run_shorter_than_the_log_interval_logs_its_first_and_last_iteration(
        tmp_path, tiny_model_dir, xl_home):
    """log_interval=5, max_iters=4 printed no Iter(train) line at all."""
    assert train(tmp_path, tiny_model_dir, 'log_interval=5', 'max_iters=4') == 0
    assert sorted(logged_losses(tmp_path)) == [1, 4]
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'Iter(train) [1/4]' in log and 'Iter(train) [4/4]' in log
    assert 'Iter(train) [2/4]' not in log


def test_the_interval_still_holds_in_between(tmp_path, tiny_model_dir, xl_home):
    assert train(tmp_path, tiny_model_dir, 'log_interval=3', 'max_iters=7') == 0
    assert sorted(logged_losses(tmp_path)) == [1, 3, 6, 7]
