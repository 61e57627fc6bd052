"""Stage 'clean': empty turns, missing replies, replies out of length bounds, repetition,
garbage (symbols, gibberish, encoded blobs) judged on the replies alone, a reply that
repeats its prompt, and mojibake (found by ftfy, repaired where it is sure). Each rule is a
pure function of one sample (read through :mod:`.text`: a tool call is a reply, tool
results are a prompt, a pair's replies are replies); the reason of every drop is in the
report and in removed.jsonl."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import ftfy

from ..errors import ConfigError
from .stage import CURATION_STAGES, ENABLED, Option, Stage
from .text import decode, encode, ngrams, part_texts, pieces, rewrite, sample_text

_SYMBOLS = re.compile(r'(?:[^\w\s]|_)+')    # neither letter, digit nor whitespace
_NON_WORD = re.compile(r'[\W_]+')


def repeated_share(items: list) -> float:
    """Share of ``items`` that repeat an earlier item.

    >>> repeated_share(['a', 'b', 'a', 'a'])
    0.5
    """
    return 1 - len(set(items)) / len(items) if items else 0.0


def line_repetition(text: str) -> float:
    """Share of the lines with words that repeat an earlier line (0 under three lines).
    Lines of fewer than 3 letters or digits are drawing, not text: the '+-----+' and '|'
    lines of an ASCII diagram repeat by design."""
    lines = [ln.strip() for ln in text.splitlines() if sum(map(str.isalnum, ln)) >= 3]
    return repeated_share(lines) if len(lines) >= 3 else 0.0


def ngram_repetition(text: str, n: int = 3) -> float:
    """Share of word ``n``-grams that repeat an earlier one (0 under 4n words). One-character
    tokens are left out: the 'T F T T' of a truth table or the cells of a grid repeat by
    design."""
    words = [w for w in text.split() if len(w) > 1]
    if len(words) < 4 * n:
        return 0.0
    return repeated_share([tuple(words[i:i + n]) for i in range(len(words) - n + 1)])


def char_repetition(text: str, n: int = 10) -> float:
    """Share of character ``n``-grams that repeat an earlier one (0 under 5n characters),
    runs of spaces and symbols counted as one space: the frames of an ASCII diagram and the
    padding of a table repeat by design (symbol garbage is non_text); 0 for a regular
    expression (:func:`is_regex`), whose classes repeat."""
    if is_regex(text):
        return 0.0
    text = _NON_WORD.sub(' ', text)
    if len(text) < 5 * n:
        return 0.0
    return repeated_share([text[i:i + n] for i in range(len(text) - n + 1)])


def text_ratio(text: str) -> float:
    """Letters, digits and whitespace over all characters (1 for empty text; 1 for a
    regular expression, which is code, not garbage: see :func:`is_regex`)."""
    if not text or is_regex(text):
        return 1.0
    return 1 - sum(map(len, _SYMBOLS.findall(text))) / len(text)


_REGEX_SIGN = re.compile(r'\\[dDwWsSbB]|\[[^\]]*?[a-zA-Z0-9]-[a-zA-Z0-9]|\(\?[:=!<]')


def is_regex(text: str) -> bool:
    r"""Whether ``text`` (one line, 4+ characters) is a regular expression: it compiles and
    shows a regex's signs (a class escape ``\\d``, a range ``[a-z]``, a group ``(?:``),
    which symbol garbage does not. A reply 'Write a regex for an e-mail address' wants is
    mostly symbols and still good text.

    >>> is_regex(r'^[a-zA-Z0-9._%+-]+@[a-z]+\.[a-z]{2,}$'), is_regex('#@!$%^&*(){}[]<>~')
    (True, False)
    """
    text = text.strip().strip('`').strip()
    if len(text) < 4 or '\n' in text or not _REGEX_SIGN.search(text):
        return False
    try:
        re.compile(text)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def prompt_echo(reply: str, prompt: str) -> float:
    """Jaccard similarity of the reply's and the prompt's shingles (word 2-grams; character
    3-grams for CJK text): 1 for a reply that repeats its prompt. Symmetric on purpose: an
    edited copy of the prompt's *input* (Alpaca's 'Add commas: ...') shares few shingles
    with the instruction, so it stays well below."""
    a, b = set(ngrams(reply, 2)), set(ngrams(prompt, 2))
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def prompt_parts(prompts: list[str]) -> list[str]:
    """What a reply is compared with for echoes: the whole prompt of a turn and, when it has
    more lines, each prompt's first line (Alpaca's instruction before its input; a
    message's opening request). The rest of the lines are not compared alone: repeating the
    input can be the answer ('Add commas: ...' -> the input with commas)."""
    whole = '\n'.join(prompts)
    firsts = [p.strip().split('\n', 1)[0] for p in prompts if '\n' in p.strip()]
    return [whole] + [f for f in firsts if f.strip() and f != whole]


_WORD = re.compile(r'[A-Za-z]+')
# Web addresses, domain and file names, code paths: names, not words ('www', 'com').
_DOTTED = re.compile(r'\S*://\S*|[\w-]+(?:\.[\w-]+)+')
_IMPLAUSIBLE = re.compile(r'[bcdfghjklmnpqrstvwxz]{4,}|q[^u]|[jqxz][bcdfgjkmpqvwxz]'
                          r'|[bcdfgjkmpqvwxz][jqxz]|[vw][bcdfgjkmpqvwxz]')
_VOWEL = re.compile('[aeiouy]')


def gibberish(text: str) -> float:
    """Share of the lower-case Latin words (3+ letters) that no English-like word has: no
    vowel, four consonants in a row, or a letter pair English does not write ('qz', 'vk').
    Random letters score ~0.6, prose ~0.02; 0 under 6 such words (acronyms, web addresses
    and dotted names such as 'www.meetup.com' not counted)."""
    words = [w.lower() for w in _WORD.findall(_DOTTED.sub(' ', text))
             if len(w) >= 3 and not w.isupper()]
    if len(words) < 6:
        return 0.0
    bad = sum(1 for w in words if not _VOWEL.search(w) or _IMPLAUSIBLE.search(w))
    return bad / len(words)


_BLOB = re.compile(r'(?:[A-Za-z0-9+/]{4}){10,}(?:[A-Za-z0-9+/]{2,3}={0,2})?|[0-9a-fA-F]{64,}')


def blob_share(text: str) -> float:
    """Share of the characters in base64 or hex runs of 40+ characters that mix cases and
    digits (or are hex): encoded data, not language."""
    if not text:
        return 0.0
    found = [m.group(0) for m in _BLOB.finditer(text)]
    found = [b for b in found if re.fullmatch('[0-9a-fA-F]+', b) or (
        re.search('[a-z]', b) and re.search('[A-Z]', b) and re.search(r'\d', b))]
    return sum(map(len, found)) / len(text)


def mojibake(text: str) -> bool:
    """Whether ``ftfy`` finds mis-decoded text ('CafÃ©', 'â€™')."""
    return bool(text) and ftfy.badness.is_bad(text)


def repair_mojibake(sample: dict) -> tuple[dict, bool]:
    """(the sample with ftfy's encoding fix applied to each bad piece, whether every piece
    came out clean): repaired only where ftfy is sure."""
    sure = True

    def fix(value: str) -> str:
        nonlocal sure
        if not mojibake(value):
            return value
        fixed = ftfy.fix_encoding(value)
        if fixed == value or mojibake(fixed):
            sure = False
            return value
        return fixed
    return rewrite(sample, fix), sure


@lru_cache(maxsize=2)
def _tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(path)


def _bounds(value: int, low: int | None, high: int | None) -> str:
    if low is not None and value < low:
        return f'< {low}'
    if high is not None and value > high:
        return f'> {high}'
    return ''


def _units(sample: dict) -> dict:
    """Per unit (turn or reply key): whether it is a reply, its reply text, its prompt text
    and whether it holds tool calls or results."""
    units: dict = {}
    for unit, part, text in pieces(sample):
        u = units.setdefault(unit, {'reply': None, 'prompt': None, 'calls': False,
                                    'results': False, 'prompts': []})
        if part == 'reply':
            u['reply'] = (u['reply'] or '') + text
        elif part == 'prompt':
            u['prompt'] = (u['prompt'] or '') + text
            u['prompts'].append(text)
        elif part == 'tool_call':
            u['calls'] = True
        elif part == 'tool_result':
            u['results'] = True
    return units


def clean_reason(sample: dict, opts: dict) -> tuple[str, str]:
    """(reason, detail) for a sample the clean rules reject; ('', '') to keep it."""
    units = _units(sample)
    for i, (unit, u) in enumerate(units.items()):
        where = f'turn {unit}' if isinstance(unit, int) else f'{unit!r} reply'
        if u['reply'] is not None and not u['reply'].strip() and not u['calls']:
            return 'no_reply', f'{where} has no assistant reply'
        if u['prompt'] is not None and (u['prompt'] or i > 0) and not u['prompt'].strip() \
                and not u['results']:
            return 'empty_turn', f'{where} has an empty or whitespace-only prompt'
        if u['reply'] is not None and (u['reply'] or not u['calls']):
            bad = _bounds(len(u['reply']), opts['min_reply_chars'], opts['max_reply_chars'])
            if bad:
                return 'reply_length', f'{where} reply has {len(u["reply"])} chars ({bad})'
    # Repetition and garbage are judged on the replies: a reply quoting its prompt is not
    # repetitive, and a normal prompt must not hide a garbage reply.
    replies = sample_text(sample, 'reply')
    checks = (('line_repetition', line_repetition, 'max_line_repetition', False),
              ('ngram_repetition', ngram_repetition, 'max_ngram_repetition', False),
              ('char_repetition', char_repetition, 'max_char_repetition', False),
              ('non_text', text_ratio, 'min_text_ratio', True),
              ('encoded_blob', blob_share, 'max_blob_share', False),
              ('gibberish', gibberish, 'max_gibberish', False))
    for reason, measure, option, is_min in checks:
        limit = opts[option]
        if limit is None:
            continue
        value = measure(replies)
        if (value < limit) if is_min else (value > limit):
            return reason, f'{measure.__name__} {value:.2f} {"<" if is_min else ">"} {limit}'
    if opts['max_prompt_echo'] is not None:
        for u in units.values():
            if u['reply'] and u['prompt']:
                echo = max(prompt_echo(u['reply'], p) for p in prompt_parts(u['prompts']))
                if echo > opts['max_prompt_echo']:
                    return 'prompt_echo', (f'prompt_echo {echo:.2f} > {opts["max_prompt_echo"]}: '
                                           'the reply repeats its prompt')
    return '', ''


def clean_batch(batch: dict, *, opts: dict) -> dict:
    """``_reason``/``_detail`` for each row of a batch (see :func:`clean_reason`), and the
    samples, their mojibake repaired where ftfy is sure (``opts['mojibake']='repair'``)."""
    samples, texts = decode(batch), list(batch['sample'])
    reasons = []
    for i, sample in enumerate(samples):
        if opts['mojibake'] != 'keep' and mojibake(sample_text(sample, 'all')):
            fixed, sure = repair_mojibake(sample) if opts['mojibake'] == 'repair' else (
                sample, False)
            if not sure:
                reasons.append(('mojibake', 'mis-decoded text (ftfy) it cannot repair for sure'
                                if opts['mojibake'] == 'repair' else 'mis-decoded text (ftfy)'))
                continue
            samples[i], texts[i] = fixed, encode(fixed)
        reasons.append(clean_reason(samples[i], opts))
    if opts.get('tokenizer') and (opts['min_reply_tokens'] or opts['max_reply_tokens']):
        reasons = _token_bounds(samples, reasons, opts)
    return {'sample': texts, '_reason': [r for r, _ in reasons],
            '_detail': [d for _, d in reasons]}


def _token_bounds(samples: list, reasons: list, opts: dict) -> list:
    """Replies out of the token bounds (one tokenizer call per batch)."""
    tok = _tokenizer(opts['tokenizer'])
    spans = [(i, text) for i, sample in enumerate(samples) if not reasons[i][0]
             for text in part_texts(sample, ('reply',))]
    ids = tok([s for _, s in spans], add_special_tokens=False)['input_ids'] if spans else []
    reasons = list(reasons)
    for (i, _), tokens in zip(spans, ids):
        bad = _bounds(len(tokens), opts['min_reply_tokens'], opts['max_reply_tokens'])
        if bad and not reasons[i][0]:
            reasons[i] = ('reply_tokens', f'a reply has {len(tokens)} tokens ({bad})')
    return reasons


def _tokens_problem(value: Any) -> str:
    return '' if value is None or (isinstance(value, int) and value >= 0) else \
        f'{value!r}; give a number of tokens or None'


class CleanStage(Stage):
    """Row by row: the rules of :func:`clean_reason`."""

    name, order = 'clean', 10
    options = {
        'enabled': ENABLED,
        'min_reply_chars': Option(1, help='replies shorter than this (characters) are dropped'),
        'max_reply_chars': Option(32000, help='replies longer than this are dropped'),
        'tokenizer': Option(None, help='a tokenizer folder to bound replies in tokens as well'),
        'min_reply_tokens': Option(None, check=_tokens_problem),
        'max_reply_tokens': Option(None, check=_tokens_problem),
        'max_line_repetition': Option(0.5, fraction=True, help='share of non-empty reply '
                                                                'lines that repeat an earlier one'),
        'max_ngram_repetition': Option(0.5, fraction=True, help='share of word 3-grams that '
                                                                 'repeat an earlier one'),
        'max_char_repetition': Option(0.6, fraction=True, help='share of character 10-grams '
                                                                'that repeat an earlier one'),
        'min_text_ratio': Option(0.4, fraction=True, help='letters, digits and spaces over all '
                                                          'characters of the replies'),
        'max_gibberish': Option(0.4, fraction=True, help='share of Latin reply words no '
                                                         'English-like word has'),
        'max_blob_share': Option(0.5, fraction=True, help='share of a reply in base64/hex '
                                                          'runs (encoded data)'),
        'max_prompt_echo': Option(0.85, fraction=True, help='shingle Jaccard similarity of a '
                                                           'reply and its prompt (or the '
                                                           "prompt's first line)"),
        'mojibake': Option('repair', choices=('repair', 'drop', 'keep'),
                           help="mis-decoded text (ftfy): 'repair' where ftfy is sure, drop "
                                "where not; 'drop' always; 'keep'"),
    }

    def run(self, run: Any, data: Any, opts: dict) -> tuple[Any, None]:
        if (opts['min_reply_tokens'] or opts['max_reply_tokens']) and not opts['tokenizer']:
            raise ConfigError('clean.min_reply_tokens/max_reply_tokens need clean.tokenizer=<a '
                              'tokenizer folder>')
        return run.engine.map(data, clean_batch, 'clean', opts=opts), None


CURATION_STAGES.register('clean', CleanStage())
