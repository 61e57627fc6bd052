from xtuner_like.utils import logging as xl_logging


def test_log_once(monkeypatch):
    seen = []
    monkeypatch.setattr(xl_logging, 'log', lambda msg, level=20: seen.append(msg))
    xl_logging.log_once('hello test')
    xl_logging.log_once('hello test')
    assert seen == ['hello test']
