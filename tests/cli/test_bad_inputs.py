"""The bad-input table (issue 16): every kind of bad input through the real CLI ends with exit
code 1 and exactly one one-line ``error:`` message that says what is wrong, never a traceback.

Content-typing cases of the openai/sharegpt map_fns (content as a list, [] or an empty reply)
belong to the fidelity work and are not listed here.
"""
import json
import shutil

import pytest
import torch
from conftest import run_cli

IDENTITY = 'smollm2_135m_instruct_lora_identity'
CUSTOM = 'custom_openai_jsonl_lora'
GOOD_ROW = {'messages': [{'role': 'user', 'content': 'hi'},
                         {'role': 'assistant', 'content': 'hello'}]}


def jsonl(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def good_rows(tmp_path):
    return jsonl(tmp_path, 'good.jsonl', (json.dumps(GOOD_ROW) + '\n').encode() * 3)


def train(recipe, *options, extra=()):
    return lambda tmp_path, model: ['train', recipe, '--work-dir', tmp_path / 'work', *extra,
                                    '--cfg-options', f'pretrained_model_name_or_path={model}',
                                    'evaluation_inputs=[]', *options]


def custom(make_file, *options):
    """`train` on the custom openai recipe with a data file made by ``make_file(tmp_path)``."""
    def args(tmp_path, model):
        return train(CUSTOM, f'data_files={make_file(tmp_path)}', *options)(tmp_path, model)
    return args


def resume_from(make_checkpoint, *options):
    def args(tmp_path, model):
        checkpoint = make_checkpoint(tmp_path, model)
        return train(IDENTITY, 'max_iters=2', *options,
                     extra=['--resume', str(checkpoint)])(tmp_path, model)
    return args


def truncated_checkpoint(tmp_path, model):
    path = tmp_path / 'iter_1.pth'
    torch.save({'state_dict': {'w': torch.zeros(100)}}, path)
    path.write_bytes(path.read_bytes()[:200])
    return path


def malicious_checkpoint(tmp_path, model):
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, ('echo pwned',))
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': Evil()}, path)
    return path


def other_rank_checkpoint(tmp_path, model):
    work = tmp_path / 'rank8'
    assert run_cli(['train', IDENTITY, '--work-dir', work, '--cfg-options',
                    f'pretrained_model_name_or_path={model}', 'lora_r=8', 'max_iters=1',
                    'evaluation_inputs=[]', 'export_hf=False']) == 0
    return work / 'iter_1.pth'


def a_file(tmp_path, model):
    (tmp_path / 'file').write_text('x')
    return ['train', IDENTITY, '--work-dir', tmp_path / 'file', '--cfg-options',
            f'pretrained_model_name_or_path={model}']


CASES = {
    # numeric settings, checked before anything loads
    'batch_size=0': (train(IDENTITY, 'batch_size=0'), 'batch_size=0'),
    'negative lr': (train(IDENTITY, 'lr=-1'), 'lr=-1'),
    'accumulative_counts=0': (train(IDENTITY, 'accumulative_counts=0'), 'accumulative_counts=0'),
    'lora_r=0': (train(IDENTITY, 'lora_r=0'), 'lora_r=0'),
    'lora_alpha=0': (train(IDENTITY, 'lora_alpha=0'), 'lora_alpha=0'),
    'lora_dropout=1.5': (train(IDENTITY, 'lora_dropout=1.5'), 'lora_dropout=1.5'),
    'max_iters=0': (train(IDENTITY, 'max_iters=0'), 'max_iters=0'),
    'max_length=abc': (train(IDENTITY, 'max_length=abc'), "max_length='abc'"),
    'max_length=1': (train(IDENTITY, 'max_length=1'), 'max_length=1'),
    'save_steps=0': (train(IDENTITY, 'save_steps=0'), 'save_steps=0'),
    'log_interval=0': (train(IDENTITY, 'log_interval=0'), 'log_interval=0'),
    'negative max_norm': (train(IDENTITY, 'max_norm=-1'), 'max_norm=-1'),
    'negative weight_decay': (train(IDENTITY, 'weight_decay=-0.1'), 'weight_decay=-0.1'),
    'negative warm-up': (train(IDENTITY, 'warmup_iters=-1'), 'warmup_iters=-1'),
    'warmup_ratio=2': (train(CUSTOM, 'warmup_ratio=2'), 'warmup_ratio=2'),
    'max_epochs=0': (train(CUSTOM, 'max_epochs=0'), 'max_epochs=0'),
    # names and options
    'option key typo': (train(IDENTITY, 'max_lenght=8'), "did you mean 'max_length'"),
    'nested option typo': (train(IDENTITY, 'model.lorra=None'), "no key 'lorra'"),
    'option without =': (train(IDENTITY, 'max_length'), 'write KEY=VALUE'),
    'unknown template': (train(IDENTITY, 'prompt_template=chatm1'), "did you mean 'chatml'"),
    'unknown recipe': (lambda t, m: ['train', 'smollm2_135m_instruct_lora_identiy'],
                       'did you mean'),
    'bad on_bad_row': (train(IDENTITY, 'on_bad_row=ignore'), "on_bad_row='ignore'"),
    # files
    'missing data file': (train(IDENTITY, 'data_files=/no/such/file.json'), 'not found'),
    'unsupported suffix': (custom(lambda t: jsonl(t, 'a.xml', b'<a/>')), 'suffixes'),
    'malformed JSON line': (custom(lambda t: jsonl(
        t, 'a.jsonl', json.dumps(GOOD_ROW).encode() + b'\n{"messages": [\n')),
        'a.jsonl, line 2: not valid JSON'),
    'empty file': (custom(lambda t: jsonl(t, 'a.jsonl', b'')), 'a.jsonl, line 1: the file is empty'),
    'non-UTF-8 bytes': (custom(lambda t: jsonl(
        t, 'a.jsonl', json.dumps(GOOD_ROW).encode() + b'\n{"x": "caf\xe9"}\n')),
        'a.jsonl, line 2: not valid UTF-8'),
    'row is not an object': (custom(lambda t: jsonl(t, 'a.jsonl', b'[1, 2]\n')),
                             'a.jsonl, line 1: a row must be a JSON object'),
    '.json not an array': (custom(lambda t: jsonl(t, 'a.json', b'{"messages": []}')),
                           'an array of row objects'),
    'row without output': (train(IDENTITY, 'data_files=__ALPACA__'), "row 1"),
    'check-custom-dataset, malformed line': (
        lambda t, m: ['check-custom-dataset', CUSTOM, '--cfg-options',
                      f'pretrained_model_name_or_path={m}',
                      f'data_files={jsonl(t, "c.jsonl", b"{}" + bytes([10]) + b"{oops")}'],
        'c.jsonl, line 2: not valid JSON'),
    # work dir, resume, chat
    'work dir is a file': (a_file, 'cannot write there'),
    'resume missing file': (train(IDENTITY, extra=['--resume', '/no/such.pth']),
                            'no such checkpoint file'),
    'resume truncated checkpoint': (resume_from(truncated_checkpoint), 'cannot load checkpoint'),
    'resume malicious checkpoint': (resume_from(malicious_checkpoint), 'refused unread'),
    'resume another LoRA rank': (resume_from(other_rank_checkpoint, 'lora_r=4'),
                                 'does not match the model of this config'),
    'chat missing model': (lambda t, m: ['chat', t / 'no_model'], 'no_model: no such folder'),
    'merge missing adapter': (lambda t, m: ['convert', 'merge', m, t / 'nope', t / 'out'],
                              'does not exist'),
    'divergence (lr=1e9)': (train(IDENTITY, 'lora=None', 'lr=1e9', 'max_iters=8',
                                  'warmup_iters=0'), 'diverged'),
}


@pytest.mark.parametrize('kind', list(CASES))
def test_bad_input_is_one_error_line(kind, tmp_path, tiny_model_dir, xl_home, capsys,
                                     monkeypatch):
    import logging
    # mmengine's loggers keep the stream of the test that created them; writing to it once
    # capsys has closed it prints '--- Logging error --- Traceback' (a harness artefact)
    monkeypatch.setattr(logging, 'raiseExceptions', False)
    make_args, message = CASES[kind]
    args = make_args(tmp_path, tiny_model_dir)
    if '__ALPACA__' in str(args):
        data = tmp_path / 'rows.json'
        data.write_text(json.dumps([{'instruction': 'hi', 'output': 'hello'},
                                    {'instruction': 'no output here'}]))
        args = [str(a).replace('__ALPACA__', str(data)) for a in args]
    capsys.readouterr()
    rc = run_cli(args)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith('error: ')]
    assert rc == 1, err[-2000:]
    assert 'Traceback' not in err, err[-3000:]
    assert len(errors) == 1, err[-2000:]
    assert message in errors[0], errors[0]
    print(f'{kind} -> {errors[0]}')
