# Preference training of the model base's causal LM (import after the model and adapter
# bases). loss_type: 'sigmoid' (DPO), 'robust', 'hinge', 'ipo', 'orpo', 'simpo', 'kto'.
# With LoRA/QLoRA the reference is the same model with adapters off; a full fine-tune keeps a
# frozen copy. ORPO and SimPO need no reference.
from xtuner_like.model import PreferenceFinetune

loss_type = 'sigmoid'
beta = 0.1
label_smoothing = 0.0
rpo_alpha = None                    # weight of an NLL term on the chosen replies
simpo_gamma = 0.5
desirable_weight = 1.0              # KTO
undesirable_weight = 1.0            # KTO

model = dict(
    type=PreferenceFinetune,
    llm='${llm}',
    lora='${lora}',
    loss_type='${loss_type}', beta='${beta}', label_smoothing='${label_smoothing}',
    rpo_alpha='${rpo_alpha}', simpo_gamma='${simpo_gamma}',
    desirable_weight='${desirable_weight}', undesirable_weight='${undesirable_weight}',
    use_gradient_checkpointing='${use_gradient_checkpointing}',
    max_tokens_per_batch='${max_length * batch_size * 2}')
