# A generated verifiable task (no download): "What is a + b? Put only the number inside
# <answer></answer>." with the sum as the answer (xtuner_like/dataset/arithmetic.py), after
# one solved example (without it SmolLM2 never writes the tag, so GRPO has nothing to reward).
from mmengine.config import read_base

from xtuner_like.dataset.arithmetic import write_addition_rows

with read_base():
    from .prompts import *

addition_rows = 256
addition_max_operand = 20
addition_shots = 1                  # solved examples before each question (0 to 3)
data_files = dict(type=write_addition_rows, n='${addition_rows}',
                  max_operand='${addition_max_operand}', shots='${addition_shots}')
max_length = 256
