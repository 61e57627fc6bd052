import json


def test_answers_saved_before_and_after(tiny_run):
    rows = [json.loads(line) for line in (tiny_run / 'eval_chat.jsonl').read_text().splitlines()]
    assert [(r['when'], r['question']) for r in rows] == [
        ('before training', 'Who are you?'), ('before training', 'What is your name?'),
        ('after training', 'Who are you?'), ('after training', 'What is your name?')]
    assert all(isinstance(r['answer'], str) and '<|im_end|>' not in r['answer'] for r in rows)
