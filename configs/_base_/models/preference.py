# Preference training of the model base's causal LM (import after the model and adapter
# bases). The loss is one registered object (xtuner_like/model/losses/): 'DPOLoss',
# 'RobustDPOLoss', 'HingeLoss', 'IPOLoss' (beta, label_smoothing, rpo_alpha), 'SimPOLoss'
# (beta, gamma, label_smoothing, rpo_alpha), 'ORPOLoss' (beta, rpo_alpha), 'KTOLoss' (beta,
# desirable_weight, undesirable_weight). Override a field with --cfg-options loss.beta=0.2,
# switch within the DPO family with loss.type=IPOLoss.
# With LoRA/QLoRA the reference is the same model with adapters off; a full fine-tune keeps a
# frozen copy. A loss that needs no reference (SimPO, ORPO) gets none.
from xtuner_like.model import PreferenceFinetune

# rpo_alpha: weight of an NLL term on the chosen replies (None: plain DPO)
loss = dict(type='DPOLoss', beta=0.1, label_smoothing=0.0, rpo_alpha=None)

model = dict(
    type=PreferenceFinetune,
    llm='${llm}',
    lora='${lora}',
    loss='${loss}',
    use_gradient_checkpointing='${use_gradient_checkpointing}',
    max_tokens_per_batch='${max_length * batch_size * 2}')
