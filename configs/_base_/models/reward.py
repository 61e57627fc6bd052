# A reward model on the model base's checkpoint: its decoder plus a new scalar `score` head
# (a Hugging Face sequence classifier), trained with the Bradley-Terry loss on preference
# pairs. Import after the model and adapter bases. The export (<work_dir>/hf) is a full model
# that AutoModelForSequenceClassification loads.
from xtuner_like.model import RewardModel

llm_head = 'reward'
# center_rewards_coefficient: e.g. 0.01 keeps scores centred on 0 (None: off)
loss = dict(type='BradleyTerryLoss', center_rewards_coefficient=None)

model = dict(
    type=RewardModel,
    llm='${llm}',
    lora='${lora}',
    loss='${loss}',
    use_gradient_checkpointing='${use_gradient_checkpointing}',
    max_tokens_per_batch='${max_length * batch_size * 2}')
