"""``python -m xtuner_like``: the CLI, and how torchrun starts each worker."""
from .cli.main import exit_process, main

exit_process(main())
