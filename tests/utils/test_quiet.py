"""Quiet terminal, complete log file; known-harmless third-party messages filtered at the source."""
import io
import logging
import warnings

import pytest

from xtuner_like.utils import quiet

LONG_BLOCKS = ['\n' + '-' * 60 + '\nSystem environment:\n    sys.platform: linux',
               'Config:\nlr = 0.1', 'Hooks will be executed in the following order:\nx',
               'a training sample (trained text in [[...]]):\nhi']


def make_logger(tmp_path, name):
    logger = logging.getLogger(f'quiet_test_{name}')
    logger.handlers.clear()
    logger.filters.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    terminal = io.StringIO()
    logger.addHandler(logging.StreamHandler(terminal))
    logger.addHandler(logging.FileHandler(tmp_path / f'{name}.log'))
    return logger, terminal, tmp_path / f'{name}.log'


@pytest.mark.parametrize('verbose', [False, True])
def test_long_blocks_go_to_the_file_and_to_the_terminal_only_when_verbose(
        tmp_path, monkeypatch, verbose):
    monkeypatch.setenv(quiet.VERBOSE_ENV, '1' if verbose else '')
    logger, terminal, log_file = make_logger(tmp_path, f'v{verbose}')
    quiet.quiet_runner_logger(logger)
    for block in LONG_BLOCKS + ['Iter(train) [1/6] loss: 1.0']:
        logger.info(block)
    logger.warning('Reach the end of the dataloader, it will be restarted')
    logger.warning('"FileClient" will be deprecated in future.')
    for handler in logger.handlers:
        handler.flush()
    shown, kept = terminal.getvalue(), log_file.read_text()
    assert 'Iter(train) [1/6]' in shown and 'Reach the end' not in shown + kept
    assert 'FileClient' not in shown + kept
    for block in LONG_BLOCKS:
        first_line = block.strip().splitlines()[-1]
        assert first_line in kept
        assert (first_line in shown) == verbose


def test_bitsandbytes_matmul_warning_once_and_deepspeed_cpu_note_dropped():
    quiet.filter_known_warnings()
    bnb = logging.getLogger('bitsandbytes.autograd._functions')
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Keep()
    bnb.addHandler(handler)
    logging.getLogger('DeepSpeed').addHandler(handler)
    try:
        for _ in range(3):
            bnb.warning('MatMul8bitLt: inputs will be cast from %s to float16', 'torch.float32')
        bnb.warning('another bitsandbytes warning')
        logging.getLogger('DeepSpeed').warning('Setting accelerator to CPU. If you have GPU ...')
    finally:
        bnb.removeHandler(handler)
        logging.getLogger('DeepSpeed').removeHandler(handler)
    assert sum(r.startswith('MatMul8bitLt') for r in records) <= 1  # once per process
    assert 'another bitsandbytes warning' in records
    assert not any('Setting accelerator' in r for r in records)


def test_known_future_warning_hidden_others_kept():
    quiet.filter_known_warnings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('default')
        quiet.filter_known_warnings()  # catch_warnings reset the filters
        warnings.warn('`is_gradient_checkpointing` is deprecated and will be removed in v6.',
                      FutureWarning)
        warnings.warn('`torch.distributed.all_gather_into_tensor` is deprecated. Please use '
                      '`torch.distributed.all_gather_into_tensor` instead.', FutureWarning)
        warnings.warn('Setting MKL_NUM_THREADS environment variable for each process to be 1 '
                      'in default, to avoid your system being overloaded', UserWarning)
        warnings.warn('something else is deprecated', FutureWarning)
    assert [str(w.message) for w in caught] == ['something else is deprecated']
