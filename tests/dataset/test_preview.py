"""Trained spans are marked in previews."""
from xtuner_like.dataset.preview import GREEN, trained_spans_text


def test_markers_and_colour(tiny_tokenizer):
    prompt = tiny_tokenizer('Who are you?', add_special_tokens=False).input_ids
    answer = tiny_tokenizer('I am Tuna.', add_special_tokens=False).input_ids
    ids, labels = prompt + answer, [-100] * len(prompt) + answer
    assert trained_spans_text(ids, labels, tiny_tokenizer) == 'Who are you?[[I am Tuna.]]'
    assert GREEN + 'I am Tuna.' in trained_spans_text(ids, labels, tiny_tokenizer, color=True)
