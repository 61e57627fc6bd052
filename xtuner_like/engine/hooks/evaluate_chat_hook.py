"""EvaluateChatHook: the model's answers to fixed questions before, during and after training."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from mmengine.hooks import Hook

from ...model.base import unwrap_model
from ...model.generate import chat_prompt, generate_reply, stop_strings
from ...templates.chat_format import ChatFormat
from ...utils.progress import progress


class EvaluateChatHook(Hook):
    """Answers ``evaluation_inputs`` with the recipe's template, system prompt and stop words.

    Answers are logged and appended to ``<work_dir>/eval_chat.jsonl`` (one line per question
    and iteration) before training, every ``every_n_iters`` and at the end.

    Args:
        evaluation_inputs: questions to ask.
        every_n_iters: also ask every N iterations (None: only before and after).
        system: system-template name or text (None: the dataset's system prompt).
        prompt_template: template name (None: the dataset's template, which is the one to
            use unless you want to see the model under another format).
        max_new_tokens: longest answer.
        stop_words: extra stop words on top of the template's and the eos.
    """

    priority = 'LOW'

    def __init__(self, evaluation_inputs: Sequence[str], every_n_iters: int | None = None,
                 system: str | None = None, prompt_template: str | None = None,
                 max_new_tokens: int = 64, stop_words: Sequence[str] = ()):
        self.evaluation_inputs = list(evaluation_inputs)
        self.every_n_iters = every_n_iters
        self.system = system
        self.prompt_template = prompt_template
        self.max_new_tokens = max_new_tokens
        self.stop_words = list(stop_words)

    def chat_format(self, trained: ChatFormat) -> ChatFormat:
        """The dataset's (trained) format, with this hook's own template or system if set."""
        if self.prompt_template is None and self.system is None and not self.stop_words:
            return trained
        return ChatFormat.build(self.prompt_template or trained.template,
                                self.system if self.system is not None else trained.system,
                                self.stop_words)

    def _ask(self, runner, when: str) -> None:
        if not self.evaluation_inputs:   # nothing to ask: no (blank) record either
            return
        dataset = runner.train_dataloader.dataset
        tokenizer = dataset.tokenizer
        chat_format = self.chat_format(dataset.chat_format)
        template, system = chat_format.template, chat_format.system
        model = unwrap_model(runner.model)
        stops = stop_strings(chat_format.stop_words, tokenizer)
        out = Path(runner.work_dir) / 'eval_chat.jsonl'
        lines = []
        for question in progress(self.evaluation_inputs, f'chat {when}'):
            prompt = chat_prompt(template, tokenizer, [{'input': question}], system)
            answer = generate_reply(model.llm, tokenizer, prompt, stops,
                                    max_new_tokens=self.max_new_tokens)
            runner.logger.info(f'[chat {when}] Q: {question}\n  A: {answer}')
            lines.append(json.dumps({'when': when, 'iter': runner.iter, 'question': question,
                                     'answer': answer}, ensure_ascii=False))
        with out.open('a', encoding='utf-8') as f:
            f.write('\n'.join(lines) + '\n')

    def before_train(self, runner) -> None:
        # a resumed run starts from trained weights: label it so, not 'before training'
        self._ask(runner, f'resumed at {runner.iter}' if runner.iter else 'before training')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        n = self.every_n_iters
        if n and self.every_n_train_iters(runner, n) and runner.iter + 1 < runner.max_iters:
            self._ask(runner, f'at iter {runner.iter + 1}')

    def after_train(self, runner) -> None:
        self._ask(runner, 'after training')
