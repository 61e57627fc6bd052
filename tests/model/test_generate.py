from transformers import GenerationConfig

from xtuner_like.model.generate import (chat_prompt, cut_at_stop, generate_reply,
                                        set_stop_tokens, stop_strings, stop_token_ids)
from xtuner_like.model.load import load_causal_lm
from xtuner_like.templates import get_template
from xtuner_like.templates.chat_format import ChatFormat


def test_stop_words_and_cut(tiny_tokenizer):
    stops = stop_strings(ChatFormat.build('chatml', extra_stop_words=['###']).stop_words,
                         tiny_tokenizer)
    assert stops[0] == '<|im_end|>' and '###' in stops and len(stops) == len(set(stops))
    assert cut_at_stop('Hello<|im_end|>junk', stops) == 'Hello'
    assert cut_at_stop('A ### B <|im_end|>', stops) == 'A '


def test_prompt_and_reply(tiny_model_dir, tiny_tokenizer):
    template = get_template('chatml')
    prompt = chat_prompt(template, tiny_tokenizer, [{'input': 'Hi', 'output': 'Hello'},
                                                   {'input': 'Who?'}])
    assert prompt == ('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n'
                      '<|im_start|>user\nWho?<|im_end|>\n<|im_start|>assistant\n')
    model = load_causal_lm(str(tiny_model_dir))
    reply = generate_reply(model, tiny_tokenizer, prompt, stop_strings(template.stop_words, tiny_tokenizer),
                           max_new_tokens=5)
    assert isinstance(reply, str) and '<|im_end|>' not in reply


def test_stop_token_ids_are_eos_then_single_token_stop_words(tiny_tokenizer):
    ids = stop_token_ids(tiny_tokenizer, ChatFormat.build('chatml').stop_words)
    assert ids[0] == tiny_tokenizer.eos_token_id
    assert stop_token_ids(tiny_tokenizer) == [tiny_tokenizer.eos_token_id]


def test_set_stop_tokens_puts_eos_first_and_keeps_or_replaces_the_old_ids(tiny_tokenizer):
    eos = tiny_tokenizer.eos_token_id
    kept = GenerationConfig(eos_token_id=7)
    set_stop_tokens(kept, tiny_tokenizer)
    assert kept.eos_token_id == [eos, 7] and kept.pad_token_id == tiny_tokenizer.pad_token_id
    replaced = GenerationConfig(eos_token_id=7)
    set_stop_tokens(replaced, tiny_tokenizer, keep_existing=False)
    assert replaced.eos_token_id == eos
    already = GenerationConfig(eos_token_id=eos)
    set_stop_tokens(already, tiny_tokenizer)
    assert already.eos_token_id == eos


def _greedy_alone(model, prompt, n):
    import torch
    ids = torch.tensor([prompt])
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=n,
                         do_sample=False, pad_token_id=0, eos_token_id=None)
    return out[0, len(prompt):].tolist()


def test_generate_batch_equals_each_prompt_alone_and_rows_stop_on_their_own(tiny_tokenizer):
    import torch
    from conftest import make_tiny_llama
    from xtuner_like.model.generate import generate_batch
    model = make_tiny_llama(len(tiny_tokenizer)).eval()
    g = torch.Generator().manual_seed(1)
    prompts = [torch.randint(5, 300, (n,), generator=g).tolist() for n in (3, 11, 7, 1)]
    alone = [_greedy_alone(model, p, 8) for p in prompts]
    got = generate_batch(model, tiny_tokenizer, prompts, max_new_tokens=8)
    assert got == alone
    # a stop id ends its row only (the stop token is kept; other rows go on)
    stop = alone[1][2]
    cut = generate_batch(model, tiny_tokenizer, prompts, max_new_tokens=8, stop_ids=[stop])
    for row, full in zip(cut, alone):
        end = full.index(stop) + 1 if stop in full else len(full)
        assert row == full[:end]


def test_generate_batch_stops_at_a_stop_text_and_samples_reproducibly(tiny_tokenizer):
    import torch
    from conftest import make_tiny_llama
    from xtuner_like.model.generate import generate_batch
    model = make_tiny_llama(len(tiny_tokenizer)).eval()
    prompt = tiny_tokenizer.encode('Who are you?', add_special_tokens=False)
    full, = generate_batch(model, tiny_tokenizer, [prompt], max_new_tokens=10)
    text = tiny_tokenizer.decode(full[:4])
    stopped, = generate_batch(model, tiny_tokenizer, [prompt], 10, stop_texts=[text[-2:]])
    assert len(stopped) <= 4 and text[-2:] in tiny_tokenizer.decode(stopped)
    runs = [generate_batch(model, tiny_tokenizer, [prompt, prompt], 6, temperature=1.0,
                           top_p=0.9, top_k=50, generator=torch.Generator().manual_seed(3))
            for _ in range(2)]
    assert runs[0] == runs[1]


def test_continuous_batching_equals_each_prompt_alone_with_stops(tiny_tokenizer):
    """Eight prompts through three slots: a row that ends (a stop id, a stop text, or the
    budget) hands its slot to a waiting prompt, whose cache is spliced in left-padded; every
    row still equals greedy decoding of its prompt alone, cut where it stops."""
    import torch
    from conftest import make_tiny_llama
    from xtuner_like.model.generate import generate_batch
    model = make_tiny_llama(len(tiny_tokenizer)).eval()
    g = torch.Generator().manual_seed(2)
    prompts = [torch.randint(5, 300, (n,), generator=g).tolist()
               for n in (9, 2, 14, 5, 1, 21, 7, 3)]
    alone = [_greedy_alone(model, p, 12) for p in prompts]
    stop_id = alone[0][3]
    stop_text = tiny_tokenizer.decode(alone[2][4:6])

    def want(full):
        for n in range(1, len(full) + 1):
            if full[n - 1] == stop_id or stop_text in tiny_tokenizer.decode(full[:n]):
                return full[:n]
        return full
    expected = [want(full) for full in alone]
    assert len({len(e) for e in expected}) > 2      # rows really end at different steps
    for batch_size in (1, 3, 8, None):
        got = generate_batch(model, tiny_tokenizer, prompts, max_new_tokens=12,
                             stop_ids=[stop_id], stop_texts=[stop_text], batch_size=batch_size)
        assert got == expected, batch_size


def test_continuous_batching_runs_every_prompt_once_and_samples_reproducibly(tiny_tokenizer):
    import torch
    from conftest import make_tiny_llama
    from xtuner_like.model.generate import generate_batch
    model = make_tiny_llama(len(tiny_tokenizer)).eval()
    prompts = [[7 + i] * (1 + i % 4) for i in range(6)]
    runs = [generate_batch(model, tiny_tokenizer, prompts, 5, temperature=1.0, top_k=20,
                           generator=torch.Generator().manual_seed(5), batch_size=2)
            for _ in range(2)]
    assert runs[0] == runs[1] and all(len(r) == 5 for r in runs[0])
    assert generate_batch(model, tiny_tokenizer, prompts, 0, batch_size=2) == [[]] * 6
