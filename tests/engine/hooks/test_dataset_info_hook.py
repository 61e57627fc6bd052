def test_sample_with_trained_spans_in_the_log(tiny_run):
    log = next(tiny_run.glob('*/*.log')).read_text()
    assert 'dataset statistics: rows=85' in log
    sample = log.split('a training sample (trained text in [[...]]):')[1]
    assert '<|im_start|>user' in sample and '[[' in sample and '<|im_end|>]]' in sample
