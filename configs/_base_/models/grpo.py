# Online RL of the model base's causal LM (import after the model and adapter bases):
# GRPOFinetune (xtuner_like/model/rl.py) generates `group_size` completions per prompt,
# scores them with `rewards`, and updates the policy `num_iterations` times per batch with
# ONE registered loss: 'GRPOLoss', 'DrGRPOLoss' (max_completion_length), 'DAPOLoss'
# (epsilon_high), 'BNPOLoss' (beta, epsilon, epsilon_high, scale_rewards) or 'RLOOLoss'
# (beta, epsilon, normalize_advantages). Switch with --cfg-options loss.type=DAPOLoss.
# beta=0 computes no reference; otherwise the reference is the model with adapters off
# (LoRA/QLoRA) or a frozen copy (full fine-tune).
from xtuner_like.model.rl import GRPOFinetune

loss = dict(type='GRPOLoss', beta=0.0, epsilon=0.2)
# Reward functions (xtuner_like/model/rewards.py): exact_answer, format, length, json,
# reward_model, or 'my_module.my_reward' (called with (completions, rows) -> [floats]).
rewards = [dict(type='exact_answer', weight=1.0),
           dict(type='format', pattern=r'<answer>.*?</answer>', weight=0.2)]
group_size = 8                      # completions per prompt (G)
max_completion_length = 128
temperature = 1.0
top_p = 1.0
top_k = 0
num_iterations = 1                  # policy updates per generation batch
micro_batch_size = None             # completions per forward/backward (None: all)
# 'hf': our batched KV-cache generation with the live adapters; 'vllm' (CUDA + pip install
# vllm): a vLLM engine in the same process, weights synced before each rollout.
generation_backend = 'hf'
vllm = dict(gpu_memory_utilization=0.3)

model = dict(
    type=GRPOFinetune,
    llm='${llm}',
    lora='${lora}',
    loss='${loss}',
    rewards='${rewards}',
    group_size='${group_size}',
    max_completion_length='${max_completion_length}',
    temperature='${temperature}',
    top_p='${top_p}',
    top_k='${top_k}',
    num_iterations='${num_iterations}',
    micro_batch_size='${micro_batch_size}',
    generation_backend='${generation_backend}',
    vllm='${vllm}',
    use_gradient_checkpointing='${use_gradient_checkpointing}',
    max_tokens_per_batch='${(max_length + max_completion_length) * batch_size * group_size}')
