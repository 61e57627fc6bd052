from xtuner_like.utils import logging as xl_logging


def test_log_once(monkeypatch):
    seen = []
    monkeypatch.setattr(xl_logging, 'log', lambda msg, level=20: seen.append(msg))
    xl_logging.log_once('hello test')
    xl_logging.log_once('hello test')
    assert seen == ['hello test']



def test_a_console_handler_on_a_closed_stream_writes_to_the_live_one(capsys):
    """mmengine's console handler keeps the stdout of its creation; a closed one (a finished
    notebook cell's or test's capture) made every later log line an 'I/O operation on closed
    file' traceback."""
    import io
    import logging
    import sys

    from mmengine.logging import MMLogger

    from xtuner_like.utils.logging import log
    dead = io.StringIO()
    logger = MMLogger.get_instance('xl_test_closed_stream')   # the current instance now
    handler = next(h for h in logger.handlers if type(h) is logging.StreamHandler)
    try:
        handler.stream = dead
        dead.close()
        log('still shown')
        captured = capsys.readouterr()
        assert 'still shown' in captured.err and 'Logging error' not in captured.err
        assert 'still shown' not in captured.out          # stdout may hold results
    finally:   # leave it on a stream that outlives this test
        handler.stream = sys.__stdout__
