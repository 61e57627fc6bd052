"""Your own data as lm-eval tasks, without YAML: ``--task-file FILE[:KIND]``.

Kinds (told from the columns unless ``:KIND`` is given):

- ``mc``: ``{question, choices, answer}`` (answer: index, letter or the choice's text) ->
  multiple choice, ``acc`` / ``acc_norm``;
- ``qa``: ``{question, answer}`` (answer: a string or a list of accepted strings) ->
  generation, ``exact_match`` / ``f1`` (SQuAD normalisation);
- ``chat``: rows in any SFT format the recipes read (through the same map_fns) -> the reply to
  the last user turn is generated and scored against the reference: ``exact_match``,
  ``rougeL`` (rouge-score) and ``chrf`` (sacrebleu, per sample);
- ``loss``: rows in any SFT format (e.g. a curated eval split) -> ``loss`` and ``perplexity``
  over the trained tokens, as the training's validation computes them (every reply and its
  end of turn, rendered with the run's template).

Each becomes an lm-eval ``ConfigurableTask`` over a normalised JSONL written beside the
results, so metrics, ``--limit``, few-shot and output files are the harness's own.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

from lm_eval.api.task import ConfigurableTask

from ..dataset.encode import encode_segments
from ..dataset.load import read_json_rows
from ..dataset.map_fns import get_map_fn
from ..errors import ConfigError, DatasetFormatError
from ..templates.chat_format import ChatFormat
from ..utils.labels import IGNORE_INDEX
from ..templates.messages import turns_to_messages
from ..templates.prompt import render_conversation
from .metrics import chrf, exact_match, rouge_l, token_f1

KINDS = ('mc', 'qa', 'chat', 'loss')
# Columns that give a chat file's format away (the recipes' map_fns read them).
CHAT_SIGNATURES = ((('conversation',), None), (('messages',), 'openai'),
                   (('conversations',), 'sharegpt'), (('instruction', 'output'), 'alpaca'))


def parse_task_file(spec: str) -> tuple[Path, str | None]:
    """``FILE`` or ``FILE:KIND`` -> (path, kind or None)."""
    path, _, kind = spec.rpartition(':') if spec.rsplit(':', 1)[-1] in KINDS else (spec, '', '')
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f'--task-file {spec}: no such file')
    return file, kind or None


def detect_kind(path: Path, columns: set[str]) -> str:
    """The task kind of a file with these columns; a clear error when none fits."""
    if {'question', 'choices', 'answer'} <= columns:
        return 'mc'
    if {'question', 'answer'} <= columns:
        return 'qa'
    if any(set(cols) <= columns for cols, _ in CHAT_SIGNATURES):
        return 'chat'
    raise ConfigError(
        f'{path}: cannot tell the task kind from the columns {sorted(columns)}: multiple choice '
        "needs question/choices/answer, QA question/answer, chat rows messages, conversations, "
        "conversation or instruction/output; or add ':KIND' (mc, qa, chat, loss)")


def _chat_map_fn(path: Path, columns: set[str]) -> Callable | None:
    for cols, name in CHAT_SIGNATURES:
        if set(cols) <= columns:
            return get_map_fn(name)
    raise ConfigError(f'{path}: rows of kind chat/loss need messages, conversations, '
                      f'conversation or instruction/output columns (found {sorted(columns)})')


def _mc_doc(path: Path, idx: int, row: dict) -> dict:
    choices, answer = row['choices'], row['answer']
    if not isinstance(choices, list) or len(choices) < 2:
        raise DatasetFormatError(f'{path}, row {idx}: choices must be a list of 2 or more texts')
    if isinstance(answer, bool) or not isinstance(answer, (int, str)):
        raise DatasetFormatError(f'{path}, row {idx}: answer must be an index, a letter or a '
                                 f'choice, got {answer!r}')
    if isinstance(answer, str):
        letters = [chr(ord('A') + i) for i in range(len(choices))]
        if answer in choices:
            answer = choices.index(answer)
        elif answer.strip().upper() in letters:
            answer = letters.index(answer.strip().upper())
        else:
            raise DatasetFormatError(f'{path}, row {idx}: answer {answer!r} is neither a letter '
                                     f'A-{letters[-1]} nor one of the choices')
    if not 0 <= answer < len(choices):
        raise DatasetFormatError(f'{path}, row {idx}: answer index {answer} is outside the '
                                 f'{len(choices)} choices')
    return {'question': str(row['question']), 'choices': [str(c) for c in choices],
            'label': answer}


def _qa_doc(path: Path, idx: int, row: dict) -> dict:
    answers = row['answer'] if isinstance(row['answer'], list) else [row['answer']]
    if not answers or not all(isinstance(a, (str, int, float)) for a in answers):
        raise DatasetFormatError(f'{path}, row {idx}: answer must be a text or a list of texts')
    return {'question': str(row['question']), 'answers': [str(a) for a in answers]}


def _chat_doc(path: Path, idx: int, row: dict, map_fn: Callable | None) -> dict:
    turns = (map_fn(row) if map_fn else row)['conversation']
    if not turns or not turns[-1].get('output'):
        raise DatasetFormatError(f'{path}, row {idx}: the last turn has no reply to compare with')
    messages = turns_to_messages(turns)
    return {'messages': messages[:-1], 'reference': messages[-1]['content']}


class ChatRowsTask(ConfigurableTask):
    """Generation after a whole conversation history (lm-eval's prompt is one user turn)."""

    def fewshot_context(self, doc: dict, num_fewshot: int, system_instruction: str | None = None,
                        apply_chat_template: bool = False, fewshot_as_multiturn: bool = False,
                        chat_template: Callable | None = None, gen_prefix: str | None = None
                        ) -> str:
        messages = list(doc['messages'])
        if system_instruction and not any(m['role'] == 'system' for m in messages):
            messages.insert(0, {'role': 'system', 'content': system_instruction})
        if apply_chat_template and chat_template:
            return chat_template(messages)
        return ''.join(f"{m['role']}: {m['content']}\n" for m in messages) + 'assistant:'


class LossRowsTask(ConfigurableTask):
    """Log-likelihood of every run of trained tokens given the tokens before it.

    The ids and labels are the training encoder's (``encode_segments``: whole-text
    tokenization, trained tokens from character spans), handed to the backend pre-tokenized
    as a third request argument, so the loss is the training's validation loss exactly.
    Needs the ``xtuner_like`` backend (:class:`~xtuner_like.eval.backend.XtunerLM`).
    """

    def construct_requests(self, doc: dict, ctx: str, **kwargs: Any) -> list:
        from lm_eval.api.instance import Instance
        kwargs.pop('apply_chat_template', None)
        kwargs.pop('chat_template', None)
        return [Instance(request_type='loglikelihood', doc=doc,
                         arguments=('', '', (tuple(before), tuple(span))), idx=i, **kwargs)
                for i, (before, span) in enumerate(doc['spans'])]

    def fewshot_context(self, doc: dict, num_fewshot: int, **kwargs: Any) -> str:
        return ''



def _loss_scores(doc: dict, results: list) -> dict:
    total = sum(r[0] for r in results)
    return {'loss': (total, doc['tokens']), 'perplexity': (total, doc['tokens'])}


def _mean_loss(items: list) -> float:
    logp = sum(float(i[0]) for i in items)
    tokens = sum(int(i[1]) for i in items)
    return -logp / max(tokens, 1)


def _perplexity(items: list) -> float:
    return math.exp(min(_mean_loss(items), 50.0))


def _loss_doc(path: Path, idx: int, row: dict, map_fn: Callable | None,
              chat_format: ChatFormat, tokenizer: Any) -> dict:
    turns = (map_fn(row) if map_fn else row)['conversation']
    segments = render_conversation(turns, chat_format.template, system=chat_format.system,
                                   eos_token=tokenizer.eos_token or '')
    encoded = encode_segments(segments, tokenizer, max_length=10 ** 9)
    ids, labels = encoded['input_ids'], encoded['labels']
    spans, start = [], None
    for t in range(1, len(ids) + 1):        # runs of trained tokens (the first has no context)
        trained = t < len(ids) and labels[t] != IGNORE_INDEX
        if trained and start is None:
            start = t
        elif not trained and start is not None:
            spans.append((list(ids[:start]), list(ids[start:t])))
            start = None
    if not spans:
        raise DatasetFormatError(f'{path}, row {idx}: no trained reply to score')
    return {'spans': spans, 'tokens': sum(len(s) for _, s in spans)}


def build_file_task(spec: str, out_dir: Path, tokenizer: Any = None,
                    chat_format: ChatFormat | None = None) -> ConfigurableTask:
    """The lm-eval task for ``--task-file`` ``spec``; its normalised rows go to ``out_dir``.

    ``tokenizer`` and ``chat_format`` (the run's template and system) are needed by ``loss``
    tasks only, which render rows exactly as training does.
    """
    path, kind = parse_task_file(spec)
    rows = read_json_rows(path)
    if not rows:
        raise ConfigError(f'{path}: no rows')
    columns = set().union(*(r.keys() for r in rows if isinstance(r, dict)))
    kind = kind or detect_kind(path, columns)
    stem = path.stem
    name = stem if stem == kind or stem.endswith(f'_{kind}') else f'{stem}_{kind}'
    if kind in ('chat', 'loss'):
        map_fn = _chat_map_fn(path, columns) if 'conversation' not in columns else None
    if kind == 'loss':
        if chat_format is None or chat_format.template is None or tokenizer is None:
            raise ConfigError(f"{path}: a loss task needs the run's template; evaluate a work "
                              'dir or give --prompt-template NAME')
        docs = [_loss_doc(path, i, r, map_fn, chat_format, tokenizer)
                for i, r in enumerate(rows)]
    elif kind == 'chat':
        docs = [_chat_doc(path, i, r, map_fn) for i, r in enumerate(rows)]
    elif kind == 'mc':
        docs = [_mc_doc(path, i, r) for i, r in enumerate(rows)]
    else:
        docs = [_qa_doc(path, i, r) for i, r in enumerate(rows)]
    out_dir.mkdir(parents=True, exist_ok=True)
    data = out_dir / f'{name}.jsonl'
    data.write_text(''.join(json.dumps(d, ensure_ascii=False) + '\n' for d in docs))
    base = dict(task=name, dataset_path='json', test_split='test',
                dataset_kwargs={'data_files': {'test': str(data)}})
    if kind == 'mc':
        return ConfigurableTask(config=dict(
            base, output_type='multiple_choice', doc_to_text='Question: {{question}}\nAnswer:',
            doc_to_choice='{{choices}}', doc_to_target='{{label}}',
            metric_list=[dict(metric='acc', aggregation='mean', higher_is_better=True),
                         dict(metric='acc_norm', aggregation='mean', higher_is_better=True)]))
    if kind == 'qa':
        return ConfigurableTask(config=dict(
            base, output_type='generate_until', doc_to_text='Question: {{question}}\nAnswer:',
            doc_to_target=lambda d: d['answers'][0], target_delimiter=' ',
            generation_kwargs=dict(until=['\n\n', 'Question:'], do_sample=False,
                                   max_gen_toks=64),
            process_results=_qa_scores, metric_list=_means('exact_match', 'f1')))
    if kind == 'chat':
        return ChatRowsTask(config=dict(
            base, output_type='generate_until', doc_to_text=lambda d: '',
            doc_to_target='{{reference}}',
            generation_kwargs=dict(until=['\nuser:'], do_sample=False, max_gen_toks=128),
            process_results=_chat_scores, metric_list=_means('exact_match', 'rougeL', 'chrf')))
    return LossRowsTask(config=dict(
        base, output_type='loglikelihood', doc_to_text=lambda d: '', doc_to_target=lambda d: '',
        process_results=_loss_scores,
        metric_list=[dict(metric='loss', aggregation=_mean_loss, higher_is_better=False),
                     dict(metric='perplexity', aggregation=_perplexity,
                          higher_is_better=False)]))


def _means(*names: str) -> list[dict]:
    return [dict(metric=n, aggregation='mean', higher_is_better=True) for n in names]


def _qa_scores(doc: dict, results: list) -> dict:
    answer = results[0].strip()
    return {'exact_match': max(exact_match(answer, a) for a in doc['answers']),
            'f1': max(token_f1(answer, a) for a in doc['answers'])}


def _chat_scores(doc: dict, results: list) -> dict:
    reply, reference = results[0].strip(), doc['reference']
    return {'exact_match': exact_match(reply, reference), 'rougeL': rouge_l(reply, reference),
            'chrf': chrf(reply, reference)}
