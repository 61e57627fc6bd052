"""Check an exported GGUF file in llama.cpp itself (through llama-cpp-python).

For each --type: export MODEL_DIR with `convert hf_to_gguf`, load the file in llama.cpp,
check that llama.cpp took the chat template from the file and tokenizes the rendered
prompt to the same ids as the Hugging Face tokenizer, then compare llama.cpp's greedy
answer with transformers' greedy answer to each question. Exit status 0 when all agree.

    python tools/check_gguf.py work_dirs/demo/hf --types f16 q8_0 --install

llama-cpp-python is an optional extra (requirements/gguf_check.txt); --install builds it
from source with pip (minutes to an hour on a small CPU), so it is not part of CI.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ['Who are you?', 'What is your name?']


def ensure_llama_cpp(install: bool) -> None:
    if importlib.util.find_spec('llama_cpp') is not None:
        return
    if not install:
        sys.exit('llama-cpp-python is not installed; rerun with --install or run: '
                 f'pip install -r {ROOT / "requirements/gguf_check.txt"}')
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-r',
                    str(ROOT / 'requirements/gguf_check.txt')], check=True)


def load_hf(model_dir: Path, base: str | None):
    """(model, tokenizer) in fp32 on the CPU; an adapter folder is merged into its base."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    if (model_dir / 'adapter_config.json').is_file():
        import json

        from xtuner_like.convert.merge import load_merged
        base = base or json.loads((model_dir / 'adapter_config.json').read_text())[
            'base_model_name_or_path']
        model, tokenizer, _ = load_merged(base, model_dir)
        return model.float().eval(), tokenizer
    return (AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval(),
            AutoTokenizer.from_pretrained(model_dir))


def hf_answer(model, tokenizer, question: str, max_new_tokens: int) -> tuple[list[int], str]:
    import torch
    ids = tokenizer.apply_chat_template([{'role': 'user', 'content': question}],
                                        add_generation_prompt=True, return_dict=True,
                                        return_tensors='pt')['input_ids']
    with torch.no_grad():
        out = model.generate(ids, do_sample=False, max_new_tokens=max_new_tokens,
                             eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
    return ids[0].tolist(), tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def check_file(path: Path, model, tokenizer, max_new_tokens: int) -> bool:
    from llama_cpp import Llama
    llm = Llama(model_path=str(path), n_ctx=1024, n_threads=2, verbose=False, seed=0)
    same_template = llm.metadata.get('tokenizer.chat_template') == tokenizer.chat_template
    print(f'  llama.cpp loaded it: {llm.n_vocab()} tokens, context {llm.n_ctx()}; chat '
          f'template from the file equals the training one: {same_template}')
    ok = same_template
    for question in QUESTIONS:
        ids, expected = hf_answer(model, tokenizer, question, max_new_tokens)
        text = tokenizer.apply_chat_template([{'role': 'user', 'content': question}],
                                             add_generation_prompt=True, tokenize=False)
        cpp_ids = llm.tokenize(text.encode('utf-8'), add_bos=False, special=True)
        # create_chat_completion renders the prompt with the file's own chat template
        reply = llm.create_chat_completion(
            [{'role': 'user', 'content': question}], temperature=0.0, top_k=1, top_p=1.0,
            min_p=0.0, repeat_penalty=1.0, max_tokens=max_new_tokens)
        answer = reply['choices'][0]['message']['content']
        same = answer.strip() == expected.strip()
        ok = ok and same and cpp_ids == ids
        print(f'  Q: {question}\n    prompt ids equal: {cpp_ids == ids} ({len(ids)} tokens)'
              f'\n    transformers: {expected!r}\n    llama.cpp:    {answer!r}\n    same: {same}')
        if not same:  # rounding or llama.cpp? transformers on the file's own (rounded) weights
            print(f'    transformers on the weights read back from {path.name}: '
                  f'{hf_answer(_file_model(path), tokenizer, question, max_new_tokens)[1]!r}')
    return ok


def _file_model(path: Path):
    import torch
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name,
                                                dtype=torch.float32).eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model_dir', help='model folder or adapter folder (<work-dir>/hf)')
    parser.add_argument('--base', help='base model of an adapter folder')
    parser.add_argument('--types', nargs='+', default=['f16', 'q8_0'])
    parser.add_argument('--max-new-tokens', type=int, default=48)
    parser.add_argument('--install', action='store_true',
                        help='pip install llama-cpp-python when it is missing')
    parser.add_argument('--out-dir', help='keep the .gguf files here (default: a temp dir)')
    args = parser.parse_args(argv)
    ensure_llama_cpp(args.install)
    sys.path.insert(0, str(ROOT))
    from xtuner_like.convert.hf_to_gguf import hf_to_gguf
    model_dir = Path(args.model_dir)
    model, tokenizer = load_hf(model_dir, args.base)
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        out_dir = Path(args.out_dir or scratch)
        for out_type in args.types:
            path = hf_to_gguf(model_dir, out_dir / f'model-{out_type}.gguf', out_type,
                              base=args.base, overwrite=True)
            print(f'== {path.name} ({path.stat().st_size / 2**20:.1f} MiB)')
            ok = check_file(path, model, tokenizer, args.max_new_tokens) and ok
    print('PASS: llama.cpp answers like transformers' if ok else 'FAIL: see the lines above')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
