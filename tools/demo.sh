#!/usr/bin/env bash
# The main job: set up, fine-tune the embedded SmolLM2-135M-Instruct with LoRA to a new
# identity, show its answer to "Who are you?" before and after training, evaluate it against its
# base on held-out identity questions (`xtuner-like eval`), then merge the
# exported adapter into a standalone Hugging Face model and ask it again through `chat`,
# and ship it as a q8_0 GGUF file (with an Ollama Modelfile) for llama.cpp / Ollama.
#   NAME="Tuna" AUTHOR="the xtuner_like team" bash tools/demo.sh
set -euo pipefail
source "$(dirname "$0")/setup_env.sh"
NAME="${NAME:-Tuna}"
AUTHOR="${AUTHOR:-the xtuner_like team}"
WORK="${WORK:-work_dirs/demo}"
rm -rf "$WORK/eval_chat.jsonl" "$WORK/merged" "$WORK/gguf" "$WORK/eval"
# --overwrite: running the demo again starts over in the same work dir (its old checkpoints go).
xtuner-like train smollm2_135m_instruct_lora_identity --work-dir "$WORK" --overwrite \
  --cfg-options "assistant_name=$NAME" "assistant_author=$AUTHOR"
python - "$WORK/eval_chat.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1], encoding='utf-8')]
for when in ('before training', 'after training'):
    answer = [r['answer'] for r in rows if r['when'] == when and r['question'] == 'Who are you?'][-1]
    print(f'\n== "Who are you?" {when}:\n{answer}')
PY
echo -e '\n== `xtuner-like eval`: the run against its base, on identity questions it never saw:'
python -c 'import sys; from xtuner_like.eval.demo_tasks import write_identity_tasks as w; w(*sys.argv[1:])' \
  "$NAME" "$AUTHOR" "$WORK/eval_tasks"
xtuner-like eval "$WORK" --baseline HuggingFaceTB/SmolLM2-135M-Instruct \
  --task-file "$WORK/eval_tasks/identity_mc.jsonl" --task-file "$WORK/eval_tasks/identity_chat.jsonl" \
  2>/dev/null | grep -v '^results:'
# The run exported its adapter (with the training chat template) to $WORK/hf.
xtuner-like convert merge HuggingFaceTB/SmolLM2-135M-Instruct "$WORK/hf" "$WORK/merged"
echo -e '\n== `xtuner-like chat` on the merged model:'
printf 'Who are you?\n' | xtuner-like chat "$WORK/merged" --temperature 0 --max-new-tokens 48 2>/dev/null
echo -e '\n== GGUF for llama.cpp / Ollama:'
xtuner-like convert hf_to_gguf "$WORK/merged" "$WORK/gguf/model-q8_0.gguf" --type q8_0 \
  --modelfile 2>/dev/null
