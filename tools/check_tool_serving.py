"""Does an exported tokenizer serve the ids a run trained on, tools included?

For every row of a data file: the training ids (map_fn -> the run's template -> encode) and
the ids the exported tokenizer gives the same conversation as OpenAI messages through
``apply_chat_template(messages, tools=...)``, as a server would. Prints the count of equal rows
(with and without tools) and exits 1 when any row differs.

    xtuner-like train smollm2_135m_instruct_lora_alpaca --work-dir work/tools --cfg-options \\
        data_files=/work/shared/data/glaive_toolcall_en_demo.json dataset_map_fn=sharegpt \\
        system=None train_cfg.max_iters=2 accumulative_counts=1 log_interval=1
    python tools/check_tool_serving.py work/tools/hf \\
        /work/shared/data/glaive_toolcall_en_demo.json --map-fn sharegpt
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('hf_dir', help='the exported folder (<work_dir>/hf)')
    parser.add_argument('data_file')
    parser.add_argument('--map-fn', default='openai')
    args = parser.parse_args(argv)

    from mmengine.config import Config
    from transformers import AutoTokenizer

    from xtuner_like.dataset.encode import encode_segments
    from xtuner_like.templates.messages import turns_to_messages
    from xtuner_like.dataset.load import load_raw_dataset
    from xtuner_like.dataset.map_fns import get_map_fn
    from xtuner_like.dataset.template import template_map_fn
    from xtuner_like.model.export import CONFIG_NAME
    from xtuner_like.dataset.spec import chat_format_of

    served = AutoTokenizer.from_pretrained(args.hf_dir)
    fmt = chat_format_of(Config.fromfile(f'{args.hf_dir}/{CONFIG_NAME}'))
    map_fn = get_map_fn(args.map_fn)
    counts = {True: [0, 0], False: [0, 0]}      # has tools -> [equal, rows]
    first_bad = None
    for k, row in enumerate(load_raw_dataset([args.data_file])):
        turns = map_fn(row)['conversation']
        segments = template_map_fn({'conversation': turns}, fmt.template, fmt.system,
                                   served.eos_token or '')['segments']
        trained = encode_segments(segments, served, 1 << 20)['input_ids']
        tools = turns[0].get('tools')
        try:
            ids = served.apply_chat_template(turns_to_messages(turns), tools=tools, tokenize=True,
                                             return_dict=False)
        except Exception:  # a template that cannot render the row (SmolLM2's own, on None)
            ids = None
        counts[bool(tools)][0] += ids == trained
        counts[bool(tools)][1] += 1
        if ids != trained and first_bad is None:
            first_bad = k
    for has_tools, (equal, rows) in counts.items():
        if rows:
            print(f"rows {'with' if has_tools else 'without'} tools: {equal} of {rows} served "
                  'with the training ids')
    if first_bad is not None:
        print(f'first differing row: {first_bad}')
    return 0 if first_bad is None else 1


if __name__ == '__main__':
    sys.exit(main())
