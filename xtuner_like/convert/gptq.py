"""`convert quantize --method gptq`: GPTQ 2/3/4/8-bit weights for GPU serving, via gptqmodel.

GPTQ rounds each layer's weights so that the layer's outputs on calibration inputs change
least. The calibration inputs are the recipe's own training rows (rendered with its
template and tokenized as in training, unpacked), so the model is calibrated on the kind
of text it was fine-tuned to answer. gptqmodel is an optional extra
(``pip install -r requirements/gptq.txt``) and needs a CUDA GPU: the method's entry in
``convert/quantize.py`` declares both, and the front checks them before this module runs.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError
from ..utils.logging import log

GPTQ_BITS = (2, 3, 4, 8)


def calibration_rows(config: str, model_dir: str | os.PathLike, n_samples: int = 128,
                     cfg_options: dict | None = None) -> list[dict[str, list[int]]]:
    """The first ``n_samples`` rows of the recipe's dataset as gptqmodel inputs.

    Rows are tokenized by ``model_dir``'s tokenizer (the exported one, with the training
    chat template) and not packed: one conversation per calibration sample.
    """
    from ..model.load import load_tokenizer
    from ..utils.build import build
    from .pth_to_hf import load_run_config
    if n_samples < 1:
        raise ConfigError(f'--n-samples {n_samples}: use at least 1 calibration row')
    cfg = load_run_config(config, cfg_options)
    spec = cfg.to_dict().get('train_dataloader', {}).get('dataset')
    if not isinstance(spec, dict):
        raise ConfigError(f'{config}: no train_dataloader.dataset to take calibration rows from')
    spec.update(pack_to_max_length=False, max_rows=n_samples,
                tokenizer=dict(type=load_tokenizer,
                               pretrained_model_name_or_path=str(model_dir)))
    dataset = build(spec)
    rows = []
    for i in range(min(n_samples, len(dataset))):
        ids = [int(t) for t in dataset[i]['input_ids']]
        rows.append({'input_ids': ids, 'attention_mask': [1] * len(ids)})
    if len(rows) < n_samples:
        log(f'calibration: the dataset of {config} has {len(rows)} rows, fewer than '
            f'--n-samples {n_samples}; using them all')
    return rows


def gptq_config_args(bits: int = 4, group_size: int = 128, desc_act: bool = False) -> dict:
    """Arguments of gptqmodel's ``QuantizeConfig``, checked before any model is loaded."""
    if bits not in GPTQ_BITS:
        raise ConfigError(f'--bits {bits}: GPTQ supports {", ".join(map(str, GPTQ_BITS))}')
    if group_size != -1 and (group_size < 1 or group_size & (group_size - 1)):
        raise ConfigError(f'--group-size {group_size}: use a power of two (128 is usual) or -1')
    return {'bits': bits, 'group_size': group_size, 'desc_act': desc_act}


def quantize_gptq(model_dir: str | os.PathLike, out_dir: str | os.PathLike, config: str, *,
                  bits: int = 4, group_size: int = 128, desc_act: bool = False,
                  n_samples: int = 128, batch_size: int = 1,
                  cfg_options: dict | None = None) -> Path:
    """Quantize the full model in ``model_dir`` with GPTQ and save it to ``out_dir``.

    Args:
        model_dir: a full HF model folder (merge an adapter first: ``convert merge``).
        out_dir: the folder to create; it appears complete or not at all.
        config: the training recipe or the config its run dumped (calibration data).
        bits, group_size, desc_act: gptqmodel's QuantizeConfig.
        n_samples: calibration rows taken from the recipe's dataset.
        batch_size: calibration batch size.
    """
    from ..utils.io import atomic_dir
    model_dir = Path(model_dir).expanduser()
    if not (model_dir / 'config.json').is_file():
        raise ConfigError(f'{model_dir} is not a full model folder (no config.json); merge an '
                          'adapter first with `convert merge`')
    args = gptq_config_args(bits, group_size, desc_act)
    rows = calibration_rows(config, model_dir, n_samples, cfg_options)
    from gptqmodel import GPTQModel, QuantizeConfig
    log(f'gptq: {len(rows)} calibration rows from {config}, {args}')
    model = GPTQModel.load(str(model_dir), QuantizeConfig(**args))
    model.quantize(rows, batch_size=batch_size)
    with atomic_dir(out_dir) as tmp:
        model.save(str(tmp))
        _copy_tokenizer(model_dir, tmp)
    return Path(out_dir).expanduser().resolve()


def _copy_tokenizer(model_dir: Path, out: Path) -> None:
    """The tokenizer (with the training chat_template) travels with the weights."""
    from transformers import AutoTokenizer
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out)
