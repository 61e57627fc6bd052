from xtuner_like.model.generate import chat_prompt, cut_at_stop, generate_reply, stop_strings
from xtuner_like.model.load import load_causal_lm
from xtuner_like.templates import get_template


def test_stop_words_and_cut(tiny_tokenizer):
    stops = stop_strings(get_template('chatml'), tiny_tokenizer, ['###'])
    assert stops[0] == '<|im_end|>' and '###' in stops and len(stops) == len(set(stops))
    assert cut_at_stop('Hello<|im_end|>junk', stops) == 'Hello'
    assert cut_at_stop('A ### B <|im_end|>', stops) == 'A '


def test_prompt_and_reply(tiny_model_dir, tiny_tokenizer):
    template = get_template('chatml')
    prompt = chat_prompt(template, tiny_tokenizer, [{'input': 'Hi', 'output': 'Hello'}], 'Who?')
    assert prompt == ('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n'
                      '<|im_start|>user\nWho?<|im_end|>\n<|im_start|>assistant\n')
    model = load_causal_lm(str(tiny_model_dir))
    reply = generate_reply(model, tiny_tokenizer, prompt, stop_strings(template, tiny_tokenizer),
                           max_new_tokens=5)
    assert isinstance(reply, str) and '<|im_end|>' not in reply
