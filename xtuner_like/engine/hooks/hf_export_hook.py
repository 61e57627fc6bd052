"""HFExportHook: at the end of training, the model as a Hugging Face folder in <work_dir>/hf."""
from __future__ import annotations

from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ...errors import TrainingDivergedError
from ...model.base import unwrap_model
from ...dataset.spec import chat_format_of
from ...utils.build import build
from .divergence_hook import nonfinite_parameters


class HFExportHook(Hook):
    """Writes ``<work_dir>/<out_dir>`` after training, as ``convert pth_to_hf`` would.

    LoRA/QLoRA runs give a PEFT adapter folder, full runs a model folder; both hold the
    tokenizer with the training template as ``chat_template`` and the config. Rank 0 only.
    The chat format is the dataset's (what was trained), never the top-level knobs.

    Args:
        enabled: False skips the export (the ``export_hf`` knob).
        out_dir: folder name inside the work dir.
        dtype: 'fp32', 'bf16', 'fp16' or None (the trained weights' dtype).
        max_shard_size: largest weight file of a full model.
    """

    priority = 'VERY_LOW'  # after the other hooks' after_train (e.g. the last chat)

    def __init__(self, enabled: bool = True, out_dir: str = 'hf', dtype: str | None = None,
                 max_shard_size: str = '2GB'):
        self.enabled = enabled
        self.out_dir = out_dir
        self.dtype = dtype
        self.max_shard_size = max_shard_size

    def after_train(self, runner) -> None:
        if not self.enabled or not is_main_process():
            return
        model = unwrap_model(runner.model)
        if any(hasattr(p, 'ds_status') for p in model.parameters()):
            runner.logger.warning('HF export skipped: ZeRO-3 partitions the weights; run '
                                  '`xtuner-like convert pth_to_hf` on the last checkpoint')
            return
        bad = nonfinite_parameters(model)
        if bad:
            raise TrainingDivergedError(
                f'HF export refused: {len(bad)} trained weights hold NaN/inf (e.g. {bad[0]})')
        cfg = runner.cfg
        dataset = runner.train_dataloader.dataset
        tokenizer = getattr(dataset, 'tokenizer', None)
        if tokenizer is None:
            tokenizer = build(cfg.tokenizer.to_dict())
        chat_format = getattr(dataset, 'chat_format', None) or chat_format_of(cfg)
        out = model.export(Path(runner.work_dir) / self.out_dir, tokenizer, chat_format,
                           config_text=cfg.dump(), dtype=self.dtype,
                           max_shard_size=self.max_shard_size,
                           base_name=cfg.get('pretrained_model_name_or_path'), overwrite=True)
        kind = 'adapter' if model.has_adapters else 'full model'
        runner.logger.info(f'Hugging Face {kind} written to {out}')
