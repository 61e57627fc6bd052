"""DatasetInfoHook: at the start, the dataset's statistics and one sample with trained spans."""
from __future__ import annotations

from mmengine.hooks import Hook

from ...dataset.preview import trained_spans_text


class DatasetInfoHook(Hook):
    """Logs dataset statistics and decodes one processed sample, trained text in [[...]]."""

    priority = 'LOW'

    def __init__(self, sample_index: int = 0, max_chars: int = 2000):
        self.sample_index = sample_index
        self.max_chars = max_chars

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        stats = getattr(dataset, 'stats', {})
        runner.logger.info('dataset statistics: ' + ', '.join(
            f'{k}={v:.3f}' if isinstance(v, float) else f'{k}={v}' for k, v in stats.items()))
        tokenizer = getattr(dataset, 'tokenizer', None)
        if tokenizer is None or len(dataset) == 0:
            return
        row = dataset[min(self.sample_index, len(dataset) - 1)]
        text = trained_spans_text(row['input_ids'], row['labels'], tokenizer)
        if len(text) > self.max_chars:
            text = text[:self.max_chars] + f' ... ({len(text) - self.max_chars} more chars)'
        runner.logger.info(f'a training sample (trained text in [[...]]):\n{text}')
