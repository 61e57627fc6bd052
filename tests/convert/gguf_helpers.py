"""Tiny random models of every architecture hf_to_gguf exports, and a SentencePiece-style
tokenizer (BPE with byte fallback, like Llama 2 and Mistral), all built locally."""
from __future__ import annotations

from pathlib import Path

import torch

SPM_CORPUS = ['Who are you? I am Tuna, an assistant.', 'The quick brown fox jumps.',
              'Give three tips for staying healthy.', 'hello world 0123456789']


def make_spm_tokenizer(save_dir: Path | None = None):
    """Llama-2-style: '▁' word prefix, <0xXX> byte pieces in the vocab, <s> added at start."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme='first')
    trainer = trainers.BpeTrainer(vocab_size=200, show_progress=False)
    trainer_tok.train_from_iterator(SPM_CORPUS * 4, trainer=trainer)
    learned = trainer_tok.get_vocab()
    specials = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>']
    vocab = {t: i for i, t in enumerate(specials + [f'<0x{b:02X}>' for b in range(256)])}
    for token, _ in sorted(learned.items(), key=lambda kv: kv[1]):
        vocab.setdefault(token, len(vocab))
    import json
    merges = [tuple(m.split(' ')) if isinstance(m, str) else tuple(m) for m in
              json.loads(trainer_tok.to_str())['model']['merges']]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=True,
                               unk_token='<unk>', fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend('▁'),
                                           normalizers.Replace(' ', '▁')])
    tok.decoder = decoders.Sequence([decoders.Replace('▁', ' '), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(' ', 1, 0)])
    from tokenizers.processors import TemplateProcessing
    tok.post_processor = TemplateProcessing(single='<s> $A', pair='<s> $A <s> $B',
                                            special_tokens=[('<s>', 1)])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token='<s>', eos_token='</s>',
                                 unk_token='<unk>')
    hf.add_special_tokens({'additional_special_tokens': ['<|im_start|>', '<|im_end|>']})
    if save_dir is not None:
        hf.save_pretrained(save_dir)
    return hf


def make_tiny(arch: str, vocab_size: int, save_dir: Path | None = None, seed: int = 0,
              **overrides):
    """A 2-layer model of ``arch`` ('llama', 'mistral', 'qwen2', 'qwen3'), random weights."""
    import transformers
    classes = {'llama': 'Llama', 'mistral': 'Mistral', 'qwen2': 'Qwen2', 'qwen3': 'Qwen3'}
    name = classes[arch]
    config = getattr(transformers, f'{name}Config')(**{
        'vocab_size': vocab_size, 'hidden_size': 64, 'intermediate_size': 128,
        'num_hidden_layers': 2, 'num_attention_heads': 4, 'num_key_value_heads': 2,
        'max_position_embeddings': 512, 'tie_word_embeddings': arch == 'qwen2',
        'head_dim': 16, **overrides})
    torch.manual_seed(seed)
    model = getattr(transformers, f'{name}ForCausalLM')(config)
    with torch.no_grad():  # biases and norms away from their 0/1 start, so a mixup shows
        for pname, p in model.named_parameters():
            if pname.endswith('bias') or 'norm' in pname:
                p.add_(torch.randn_like(p) * 0.1)
    model.eval()
    if save_dir is not None:
        model.save_pretrained(save_dir)
    return model
