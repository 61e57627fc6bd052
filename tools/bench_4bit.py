"""Disk size and memory at load of a model saved in fp32 vs bitsandbytes 4-bit NF4.

    python tools/bench_4bit.py [MODEL_DIR]        # default: the embedded SmolLM2-135M

Saves MODEL_DIR as fp32 and as NF4 (what `convert merge --bits 4` writes), then loads each
in a fresh process with plain `from_pretrained(folder)` and reports how much the process's
RSS grows by loading it and running one short forward pass. Numbers are ratios to fp32 measured in the same run.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# RSS after loading and one short forward pass (safetensors are memory-mapped: pages count
# only once the weights are touched), minus RSS before loading.
LOAD = '''
import sys, json
import torch, transformers
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
before = rss()
model = transformers.AutoModelForCausalLM.from_pretrained(sys.argv[1])
with torch.no_grad():
    model(input_ids=torch.tensor([[1, 2, 3, 4]]))
print(json.dumps({"rss_mib": rss() - before}))
'''


def disk_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.glob('*.safetensors')) / 2**20


def load_rss(folder: Path) -> float:
    out = subprocess.run([sys.executable, '-c', LOAD, str(folder)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])['rss_mib']


def main() -> int:
    sys.path.insert(0, str(ROOT))
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from xtuner_like.convert.bnb import save_4bit
    from xtuner_like.model.resolve import resolve_model_path
    source = Path(sys.argv[1] if len(sys.argv) > 1
                  else resolve_model_path('HuggingFaceTB/SmolLM2-135M-Instruct'))
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(source)
    with tempfile.TemporaryDirectory() as scratch:
        fp32, nf4 = Path(scratch) / 'fp32', Path(scratch) / 'nf4'
        model.save_pretrained(fp32)
        nf4.mkdir()
        save_4bit(model, tokenizer, nf4)
        rows = {name: (disk_mib(path), load_rss(path)) for name, path in
                (('fp32', fp32), ('nf4', nf4))}
    base_disk, base_rss = rows['fp32']
    print(f'model: {source}')
    print(f'{"":6} {"disk MiB":>9} {"x fp32":>7} {"load RSS MiB":>13} {"x fp32":>7}')
    for name, (disk, rss) in rows.items():
        print(f'{name:6} {disk:9.1f} {disk / base_disk:7.2f} {rss:13.1f} {rss / base_rss:7.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
