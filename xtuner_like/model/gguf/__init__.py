"""GGUF, both ways, in one place (the ``gguf`` package does the byte format).

- ``read.py``: a GGUF file -> a plain Hugging Face model folder (``gguf_to_hf``: the
  embedded SmolLM2 and ``convert gguf_to_hf``), and the metadata fields of a file.
- ``write.py``: a model's config, tokenizer and weights -> one GGUF file (``write_gguf``),
  with ``arch.py`` (what llama.cpp expects of each architecture) and ``vocab.py`` (the
  tokenizer as ``tokenizer.*`` metadata).

It sits in ``model/`` because the model loader reads GGUF (``model/resolve.py``); the
command-level steps around it (merging an adapter first, the Ollama Modelfile, choosing a
quantize method) are ``convert/``'s.
"""
from .read import gguf_to_hf

__all__ = ['gguf_to_hf']
