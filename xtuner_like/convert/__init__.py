"""Take a trained model out: checkpoint -> Hugging Face folder, adapter merge, GGUF import.

Submodules are imported on use so that the CLI stays quick to start.
"""
