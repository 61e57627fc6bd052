"""Take a trained model out: checkpoint -> Hugging Face folder, adapter merge, GGUF export
(hf_to_gguf, with an Ollama Modelfile), 4-bit NF4 and GPTQ quantization.

The folder writer itself is the model's (``model/export.py``), shared with the export hook;
GGUF reading and writing are ``model/gguf/``'s.

Submodules are imported on use so that the CLI stays quick to start.
"""
