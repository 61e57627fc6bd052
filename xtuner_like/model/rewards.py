"""Reward functions of online RL, built from the config's ``rewards=[...]``.

``rewards=[dict(type='exact_answer', weight=1.0), dict(type='format',
pattern=r'<answer>.*</answer>', weight=0.2)]``: each entry is a registered name
(``xtuner_like.registry.REWARDS``; a typo suggests close names) or the import path of a user
function. A reward is called once per generation batch with the completions (texts, the end
of turn cut) and their prompt rows (every column of the dataset row, plus ``prompt``: the
rendered prompt text) and returns one number per completion (None or NaN: unscorable, left
out of the group statistics). The weighted sum is the reward the advantages are computed
from; each function's mean and std are logged under its ``name``.

A function that raises is reported with its name and the sample; one that returns another
shape (not one number per completion) is a :class:`RewardError` that says what it returned.
"""
from __future__ import annotations

import functools
import json
import re
from typing import Any, Callable, Sequence

import torch

from ..errors import ConfigError, RewardError
from ..registry import REWARDS
from ..utils.build import build, locate

ANSWER_TAG = re.compile(r'<answer>(.*?)</answer>', re.S)
GSM8K_FINAL = re.compile(r'####\s*(.+)')
BOXED = re.compile(r'\\boxed\{([^{}]*)\}')
NUMBER = re.compile(r'-?\d[\d,]*(?:\.\d+)?')


def reference_answer(row: dict, column: str = 'answer') -> str | None:
    """The row's reference answer: the text after GSM8K's ``####`` when there is one."""
    value = row.get(column)
    if value is None:
        return None
    text = str(value)
    final = GSM8K_FINAL.search(text)
    return final.group(1).strip() if final else text.strip()


def extract_answer(text: str) -> str | None:
    """The answer a completion gives: the last ``<answer>..</answer>``, else the text after
    the last ``####``, else the last ``\\boxed{..}``, else the whole text (stripped)."""
    for pattern in (ANSWER_TAG, GSM8K_FINAL, BOXED):
        found = pattern.findall(text)
        if found:
            return found[-1].strip()
    return text.strip() or None


def as_number(text: str | None) -> float | None:
    """The last number in ``text`` (thousands commas dropped), or None."""
    if text is None:
        return None
    found = NUMBER.findall(text)
    if not found:
        return None
    try:
        return float(found[-1].replace(',', ''))
    except ValueError:
        return None


def _normalise(text: str) -> str:
    return ' '.join(text.lower().strip().strip('.').split())


@REWARDS.register('exact_answer')
class ExactAnswer:
    """1.0 when the completion's extracted answer equals the row's reference, else 0.0.

    Args:
        column: the row column holding the reference (GSM8K's ``#### N`` is read as N).
        numeric: compare as numbers (None: when the reference is a number).
        tolerance: absolute tolerance of a numeric comparison.
    """

    accuracy = True   # its mean is logged as the run's accuracy

    def __init__(self, column: str = 'answer', numeric: bool | None = None,
                 tolerance: float = 1e-6):
        self.column, self.numeric, self.tolerance = column, numeric, tolerance

    def __call__(self, completions: Sequence[str], rows: Sequence[dict]) -> list[float]:
        out = []
        for text, row in zip(completions, rows):
            reference = reference_answer(row, self.column)
            if reference is None:
                raise KeyError(f'the row has no {self.column!r} column (columns: '
                               f'{sorted(row)}); set column=')
            given = extract_answer(text)
            numeric = self.numeric if self.numeric is not None else \
                as_number(reference) is not None and NUMBER.fullmatch(
                    reference.replace(' ', '')) is not None
            if numeric:
                want, got = as_number(reference), as_number(given)
                out.append(float(got is not None and want is not None
                                 and abs(got - want) <= self.tolerance))
            else:
                out.append(float(given is not None and _normalise(given) == _normalise(reference)))
        return out


@REWARDS.register('format')
class FormatReward:
    """1.0 when the completion matches ``pattern`` (``re.search``, DOTALL; ``full=True``:
    the whole stripped completion must match)."""

    def __init__(self, pattern: str = r'<answer>.*?</answer>', full: bool = False):
        try:
            self.regex = re.compile(pattern, re.S)
        except re.error as e:
            raise ConfigError(f'format reward: pattern {pattern!r} is not a regex: {e}') from None
        self.full = full

    def __call__(self, completions: Sequence[str], rows: Sequence[dict]) -> list[float]:
        match = self.regex.fullmatch if self.full else self.regex.search
        return [float(match(text.strip() if self.full else text) is not None)
                for text in completions]


@REWARDS.register('length')
class LengthPenalty:
    """0 up to ``target`` characters, then ``-(chars - target) / scale`` (at most ``-1``):
    discourages rambling without rewarding empty answers."""

    def __init__(self, target: int = 200, scale: float = 200.0):
        if scale <= 0:
            raise ConfigError(f'length reward: scale={scale} must be > 0')
        self.target, self.scale = target, scale

    def __call__(self, completions: Sequence[str], rows: Sequence[dict]) -> list[float]:
        return [-min(max(len(text) - self.target, 0) / self.scale, 1.0) for text in completions]


def _json_in(text: str) -> Any:
    """The JSON value in ``text``: the whole text, else the first ``{...}`` span."""
    text = text.strip()
    for candidate in (text, text[text.find('{'):text.rfind('}') + 1] if '{' in text else ''):
        if candidate:
            try:
                return json.loads(candidate)
            except ValueError:
                continue
    raise ValueError('no JSON value')


@REWARDS.register('json')
class JsonReward:
    """1.0 when the completion is (or holds) valid JSON; with ``tools_column``, it must be a
    tool call ``{"name": ..., "arguments": {...}}`` naming one of the row's tools (OpenAI
    function schemas) with every required argument and no unknown one."""

    def __init__(self, tools_column: str | None = None):
        self.tools_column = tools_column

    def __call__(self, completions: Sequence[str], rows: Sequence[dict]) -> list[float]:
        return [self._score(text, row) for text, row in zip(completions, rows)]

    def _score(self, text: str, row: dict) -> float:
        try:
            value = _json_in(text)
        except ValueError:
            return 0.0
        if self.tools_column is None:
            return 1.0
        tools = row.get(self.tools_column) or []
        if isinstance(tools, str):
            tools = json.loads(tools)
        if not isinstance(value, dict) or not isinstance(value.get('arguments', {}), dict):
            return 0.0
        for tool in tools:
            schema = tool.get('function', tool)
            if schema.get('name') != value.get('name'):
                continue
            params = schema.get('parameters') or {}
            known = set((params.get('properties') or {}))
            args = set(value.get('arguments') or {})
            required = set(params.get('required') or ())
            return float(required <= args and (not known or args <= known))
        return 0.0


@REWARDS.register('reward_model')
class RewardModelScore:
    """The score of a reward model exported by this package (``<work_dir>/hf`` of a
    RewardModel run: ``AutoModelForSequenceClassification``) for prompt + completion,
    computed in batches of ``batch_size`` without gradients."""

    def __init__(self, path: str, batch_size: int = 8, max_length: int = 2048,
                 device: str | None = None):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForSequenceClassification.from_pretrained(path).eval()
        except OSError as e:
            raise ConfigError(f'reward_model: cannot load {path!r} ({e}); give the hf folder '
                              'a RewardModel run exported') from None
        if device:
            self.model.to(device)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.tokenizer.padding_side = 'right'
        self.batch_size, self.max_length = batch_size, max_length

    @torch.no_grad()
    def __call__(self, completions: Sequence[str], rows: Sequence[dict]) -> list[float]:
        texts = [row.get('prompt', '') + text for text, row in zip(completions, rows)]
        device = next(self.model.parameters()).device
        out: list[float] = []
        for start in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(texts[start:start + self.batch_size], return_tensors='pt',
                                 padding=True, truncation=True, max_length=self.max_length,
                                 add_special_tokens=False).to(device)
            out.extend(self.model(**enc).logits[:, 0].float().tolist())
        return out


class Reward:
    """One built reward: its name, weight and function."""

    def __init__(self, name: str, fn: Callable, weight: float):
        self.name, self.fn, self.weight = name, fn, float(weight)
        self.accuracy = bool(getattr(fn, 'accuracy', False))

    def __call__(self, completions: Sequence[str], rows: Sequence[dict]) -> torch.Tensor:
        try:
            values = self.fn(list(completions), list(rows))
        except Exception as e:
            sample = next((f'completion {c!r} of row {_short(r)}' for c, r in
                           zip(completions, rows)), 'an empty batch')
            raise RewardError(f'reward {self.name!r} raised {type(e).__name__}: {e} '
                              f'(first sample of the batch: {sample})') from e
        try:
            values = [float('nan') if v is None else float(v) for v in values]
        except (TypeError, ValueError):
            raise RewardError(f'reward {self.name!r} must return one number per completion; '
                              f'it returned {_short(values)}') from None
        if len(values) != len(completions):
            raise RewardError(f'reward {self.name!r} returned {len(values)} values for '
                              f'{len(completions)} completions; return one number each')
        return torch.tensor(values, dtype=torch.float32)


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def build_reward(spec: Any) -> Reward:
    """``dict(type='exact_answer', weight=1.0, name=None, **kwargs)``, a registered name, a
    dotted import path (a function or a class) or a callable -> a :class:`Reward`."""
    if isinstance(spec, str) or callable(spec):
        spec = {'type': spec}
    if not isinstance(spec, dict) or 'type' not in spec:
        raise ConfigError(f'rewards entry {spec!r}: write dict(type=<one of '
                          f"{', '.join(REWARDS)} or a dotted path>, weight=1.0)")
    spec = dict(spec)
    weight, name, type_ = spec.pop('weight', 1.0), spec.pop('name', None), spec.pop('type')
    if isinstance(type_, str) and '.' not in type_:
        label, type_ = type_, REWARDS.get(type_)
    elif isinstance(type_, str):
        type_ = locate(type_)
        label = type_.__name__
    else:
        label = next((k for k, v in REWARDS.items() if v is type_),
                     getattr(type_, '__name__', type(type_).__name__))
    label = name or label
    if isinstance(type_, type):
        fn = build({'type': type_, **spec})
    elif spec:
        fn = functools.partial(type_, **spec)
    else:
        fn = type_
    return Reward(label, fn, weight)


class RewardSet:
    """The rewards of a config: :meth:`score` gives the weighted total and each one's values."""

    def __init__(self, specs: Sequence[Any]):
        if not specs:
            raise ConfigError('rewards=[]: give at least one reward, e.g. '
                              "rewards=[dict(type='exact_answer')]")
        self.rewards = [build_reward(s) for s in specs]
        names = [r.name for r in self.rewards]
        if len(set(names)) != len(names):
            raise ConfigError(f'rewards have the same name twice ({names}); set name=')

    def score(self, completions: Sequence[str], rows: Sequence[dict]
              ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(``[N]`` weighted total, {name: ``[N]`` values}); NaN where every value is NaN."""
        values = {r.name: r(completions, rows) for r in self.rewards}
        stacked = torch.stack([values[r.name] * r.weight for r in self.rewards])
        total = torch.nansum(stacked, 0)
        total[torch.isnan(stacked).all(0)] = float('nan')
        return total, values

    @property
    def accuracy_names(self) -> list[str]:
        return [r.name for r in self.rewards if r.accuracy]


def nan_stats(values: torch.Tensor) -> tuple[float, float]:
    """Mean and std of the finite values (0, 0 when there are none)."""
    finite = values[~torch.isnan(values)]
    if not finite.numel():
        return 0.0, 0.0
    return float(finite.mean()), float(finite.std()) if finite.numel() > 1 else 0.0


__all__ = ['REWARDS', 'RewardSet', 'build_reward', 'extract_answer', 'as_number',
           'reference_answer', 'nan_stats']
