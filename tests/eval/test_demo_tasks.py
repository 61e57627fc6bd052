"""The demo's identity tasks: held-out questions, the persona's answer among the choices."""
from __future__ import annotations

import json

from xtuner_like.dataset.identity import identity_rows
from xtuner_like.eval.demo_tasks import QUESTIONS, identity_answer, write_identity_tasks
from xtuner_like.eval.task_files import build_file_task


def test_tasks_ask_what_training_never_asked_and_load_as_tasks(tmp_path):
    paths = write_identity_tasks('Nemo', 'ACME Labs', tmp_path)
    trained = {r['instruction'] for r in identity_rows('Nemo', 'ACME Labs')}
    assert not trained & set(QUESTIONS)
    mc = [json.loads(line) for line in paths['mc'].read_text().splitlines()]
    assert all(r['choices'][r['answer']] == identity_answer('Nemo', 'ACME Labs') for r in mc)
    assert len({r['answer'] for r in mc}) > 1                     # the right choice moves
    assert build_file_task(str(paths['mc']), tmp_path / 'd').OUTPUT_TYPE == 'multiple_choice'
    chat = build_file_task(str(paths['chat']), tmp_path / 'd')
    assert next(iter(chat.test_docs()))['reference'] == 'I am Nemo, an AI assistant developed by ' \
        'ACME Labs.'
