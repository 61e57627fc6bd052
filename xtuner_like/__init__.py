"""xtuner_like: config-file fine-tuning of large language models."""
import logging as _logging

__version__ = '0.1.0'

# bitsandbytes warns on every import on AVX512-BF16 CPUs that its optional `kernels` hub
# download is missing; that download cannot work offline and nothing depends on it.
_logging.getLogger('bitsandbytes.backends.cpu.ops').setLevel(_logging.ERROR)
