# A reward model on the model base's checkpoint: its decoder plus a new scalar `score` head
# (a Hugging Face sequence classifier), trained with the Bradley-Terry loss on preference
# pairs. Import after the model and adapter bases. The export (<work_dir>/hf) is a full model
# that AutoModelForSequenceClassification loads.
from xtuner_like.model import RewardModel

llm_head = 'reward'
center_rewards_coefficient = None   # e.g. 0.01 keeps scores centred on 0

model = dict(
    type=RewardModel,
    llm='${llm}',
    lora='${lora}',
    center_rewards_coefficient='${center_rewards_coefficient}',
    use_gradient_checkpointing='${use_gradient_checkpointing}',
    max_tokens_per_batch='${max_length * batch_size * 2}')
