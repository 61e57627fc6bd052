#!/usr/bin/env python
"""Quality and speed of `xtuner-like curate` on a synthetic corpus with planted problems.

The corpus (Alpaca jsonl, random Zipf-distributed pseudo-words) holds, among unique rows:
  exact  5%  copies of an earlier row with case, spacing and punctuation changed
  near   5%  copies of an earlier row whose reply has random word edits (substitute,
             delete or insert; each word with probability --edit-rate)
  pii    5%  unique rows with one planted e-mail / phone / IP / card / API key (1% each)
  junk   2%  empty, whitespace, repetitive, symbol-only and mojibake replies
and 5% of the unique rows carry PII-like distractors (versions, dates, ISBNs, sums).

For each --rows size, in fresh subprocesses (so each peak RSS is that run's own):
generate, curate (every default stage and decontamination against an eval file of 500
corpus rows and 500 new ones, --num-proc workers) with each --code checkout, then score
every stage against the planted truth: precision/recall, rows/s (also of near dedup and
decontamination alone), peak RSS.
Then, on the first --reference-rows rows without junk or exact copies, the near-dup stage
alone against a plain reference: datasketch MinHash + MinHashLSH, inserting row by row
(query; keep and insert if nothing is similar) with the same shingles, in one process.

    python tools/bench_curate.py --rows 50000                 # ~2 min on 2 cores
    nice python tools/bench_curate.py --rows 50000 1000000     # the scale check
    python tools/bench_curate.py --rows 50000 --code /path/to/old/checkout . --skip-reference
                                            # speed and quality, before / after, one run
    python tools/bench_curate.py --planted --code /path/to/old/checkout .   # labelled table

--planted: a labelled benchmark on real rows (the shared Alpaca and Alpaca-zh files) with
planted cases of every kind each stage must catch, English and Chinese, and decoys it must
leave alone; prints recall per (stage, kind, language) and each stage's precision, for
each checkout given with --code (e.g. before / after a change), in one run.

Needs datasketch for the reference (pip install -r requirements/bench.txt).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# --planted runs each --code checkout's curation in a child process that imports it first
sys.path.insert(0, os.environ.get('BENCH_CURATE_CODE', str(ROOT)))
KINDS = ('base', 'exact', 'near', 'pii', 'junk')
PII_KINDS = ('email', 'phone', 'ip_address', 'credit_card', 'api_key')


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished workers, s (unlike wall time,
    it barely moves when other jobs load the machine)."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_rss_mib() -> float:
    """Peak RSS of this process or of its largest worker, MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


# ---------------------------------------------------------------- the planted corpus
def _card(rng: np.random.Generator) -> str:
    from xtuner_like.curate.safe import luhn_ok
    body = '4' + ''.join(map(str, rng.integers(0, 10, 14)))
    s = next(body + c for c in '0123456789' if luhn_ok(body + c))
    sep = ['', ' ', '-'][rng.integers(3)]
    return sep.join(s[i:i + 4] for i in range(0, 16, 4)) if sep else s


def pii_value(kind: str, rng: np.random.Generator) -> str:
    d = lambda n: ''.join(map(str, rng.integers(0, 10, n)))  # noqa: E731
    a = lambda n: ''.join(rng.choice(list('abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ'
                                          '23456789'), n))  # noqa: E731
    if kind == 'email':
        return f'{a(6).lower()}.{a(4).lower()}@{a(7).lower()}.{["com", "org", "io"][rng.integers(3)]}'
    if kind == 'phone':
        fmt = rng.integers(4)
        return [f'+1 {d(3)}-{d(3)}-{d(4)}', f'({d(3)}) {d(3)}-{d(4)}', f'+44 20 {d(4)} {d(4)}',
                f'{d(3)}.{d(3)}.{d(4)}'][fmt]
    if kind == 'ip_address':
        if rng.random() < 0.2:
            return ':'.join(f'{x:x}' for x in rng.integers(1, 65535, 8))
        return '.'.join(str(x) for x in rng.integers(1, 255, 4))
    if kind == 'credit_card':
        return _card(rng)
    return [f'sk-{a(40)}', f'AKIA{a(16).upper()}', f'ghp_{a(36)}', f'hf_{a(34)}',
            f'xoxb-{d(12)}-{a(24)}'][rng.integers(5)]


DISTRACTORS = ['version 2.4.1', 'on 2023-01-15 at 10:30', 'ISBN 978-3-16-148410-0',
               'a total of 1,234,567 units', 'pi is 3.14159265358979', 'call 911']
# beyond repair (U+FFFD): dropped by every version (a repairable one is now repaired, kept)
MOJIBAKE = 'The caf\ufffd\ufffd and na\ufffdve r\ufffdsum\ufffd \ufffd la carte. '


def generate(n: int, path: Path, edit_rate: float, seed: int = 0) -> None:
    """Write ``n`` rows to ``path`` and the truth to ``path.npz`` / ``path.json``."""
    rng = np.random.default_rng(seed)
    # pronounceable pseudo-words (consonant-vowel syllables): random letters are gibberish,
    # which clean now drops
    syllables = [c + v for c in 'bdfgklmnprst' for v in 'aeiou']
    vocab = np.array([''.join(rng.choice(syllables, rng.integers(1, 5)))
                      for _ in range(30000)])
    cdf = np.cumsum(1 / np.arange(1, len(vocab) + 1) ** 1.05)   # Zipf-like word frequencies
    cdf /= cdf[-1]
    draw = lambda k: vocab[np.minimum(np.searchsorted(cdf, rng.random(k)),  # noqa: E731
                                      len(vocab) - 1)]
    kind = rng.choice(5, n, p=[0.83, 0.05, 0.05, 0.05, 0.02])
    kind[:100] = 0                                   # copies need earlier originals
    src = np.full(n, -1)
    pii: dict[int, tuple[str, str]] = {}
    rows: list[dict] = []
    unique_base: list[int] = []
    for i in range(n):
        k = kind[i]
        if k in (1, 2):
            j = unique_base[rng.integers(len(unique_base))]
            src[i] = j
            r = rows[j]
            if k == 1:
                rows.append({'instruction': r['instruction'].upper() + '!!',
                             'input': '', 'output': '  ' + r['output'].replace(' ', '  ') + '.'})
            else:
                rows.append({'instruction': r['instruction'], 'input': '',
                             'output': _edit(r['output'], vocab, rng, edit_rate)})
            continue
        instr = ' '.join(draw(rng.integers(4, 12)))
        out = ' '.join(draw(rng.integers(20, 100)))
        if k == 3:
            pk = PII_KINDS[rng.integers(len(PII_KINDS))]
            val = pii_value(pk, rng)
            pii[i] = (pk, val)
            out += f' Contact: {val} today.'
        elif k == 4:
            out = [' ', '', 'buy now ' * 40, '#$%^&*(){}[]<>@!~' * 6,
                   MOJIBAKE * 4][rng.integers(5)]
        elif rng.random() < 0.05:
            out += ' ' + DISTRACTORS[rng.integers(len(DISTRACTORS))] + '.'
        if k == 0:
            unique_base.append(i)
        rows.append({'instruction': instr, 'input': '', 'output': out})
    with path.open('w') as f:
        for r in rows:
            f.write(json.dumps(r) + '\n')
    # an eval set for decontamination: 500 unique rows of the corpus (whole) and 500 new
    copied = rng.choice(np.flatnonzero(kind == 0), min(500, int((kind == 0).sum())),
                        replace=False)
    with path.with_suffix('.eval.jsonl').open('w') as f:
        for r in [rows[i] for i in sorted(copied)] + [
                {'instruction': ' '.join(draw(8)), 'input': '',
                 'output': ' '.join(draw(40))} for _ in range(500)]:
            f.write(json.dumps(r) + '\n')
    np.savez(path.with_suffix('.npz'), kind=kind, src=src)
    path.with_suffix('.pii.json').write_text(json.dumps({str(k): v for k, v in pii.items()}))


def _edit(text: str, vocab: np.ndarray, rng: np.random.Generator, rate: float) -> str:
    """``text`` with each word edited with probability ``rate`` (at least one edit)."""
    while True:
        edited = _edit_once(text, vocab, rng, rate)
        if edited != text:
            return edited


def _edit_once(text: str, vocab: np.ndarray, rng: np.random.Generator, rate: float) -> str:
    out = []
    for w in text.split():
        r = rng.random()
        if r < rate / 3:
            out.append(vocab[rng.integers(len(vocab))])      # substitute
        elif r < 2 * rate / 3:
            continue                                         # delete
        elif r < rate:
            out += [w, vocab[rng.integers(len(vocab))]]      # insert
        else:
            out.append(w)
    return ' '.join(out)


# ---------------------------------------------------------------- curate and score
def run_curate(path: Path, out: Path, num_proc: int, options: dict) -> dict:
    """Curate ``path`` into ``out`` in this process; wall and CPU time, peak RSS."""
    from xtuner_like.curate.config import load_curate_config
    from xtuner_like.curate.pipeline import curate
    cfg = load_curate_config(None, {'engine.num_proc': num_proc, 'output.removed': True,
                                    **options})
    start, cpu = time.perf_counter(), cpu_seconds()
    report = curate([str(path)], out, cfg, log=lambda m: print(m, file=sys.stderr))
    return dict(seconds=time.perf_counter() - start, cpu_seconds=cpu_seconds() - cpu,
                peak_rss_mib=peak_rss_mib(),
                stages={s.name: s.seconds for s in report.stages},
                stage_rows={s.name: s.rows_in for s in report.stages},
                rows_in=report.rows_in, rows_out=report.rows_out)


def default_shingle_size() -> int:
    from xtuner_like.curate.config import load_curate_config
    return load_curate_config()['near_dedup']['shingle_size']


def true_jaccard(path: Path, threshold: float) -> np.ndarray:
    """For each planted near copy: is its shingle Jaccard with its original >= threshold?"""
    from xtuner_like.curate.near_dedup import jaccard, shingles
    from xtuner_like.dataset.map_fns.alpaca import alpaca_map_fn
    truth = np.load(path.with_suffix('.npz'))
    near = np.flatnonzero(truth['kind'] == 2)
    wanted = set(near.tolist()) | set(truth['src'][near].tolist())
    sets, size = {}, default_shingle_size()
    with path.open() as f:
        for i, line in enumerate(f):
            if i in wanted:
                sets[i] = shingles(alpaca_map_fn(json.loads(line)),
                                   'conversation', size)
    return np.array([jaccard(sets[i], sets[truth['src'][i]]) >= threshold for i in near])


def _strings(value) -> list[str]:
    """Every string in a JSON value (curated rows: 'conversation' now, 'messages' before)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def pr(removed: np.ndarray, planted: np.ndarray) -> tuple[float, float]:
    """(precision, recall) of a removed-row mask against a planted mask."""
    tp = int((removed & planted).sum())
    return tp / max(int(removed.sum()), 1), tp / max(int(planted.sum()), 1)


def score(path: Path, out: Path, threshold: float) -> dict:
    """Per-stage precision/recall against the planted truth."""
    truth = np.load(path.with_suffix('.npz'))
    kind, n = truth['kind'], len(truth['kind'])
    stage = np.full(n, '', dtype=object)
    for line in (out / 'removed.jsonl').open():
        r = json.loads(line)
        stage[r['row']] = r['stage']
    res = {}
    for name, k in (('clean', 4), ('exact_dedup', 1), ('near_dedup', 2)):
        res[name] = pr(stage == name, kind == k)
    above = true_jaccard(path, threshold)
    near_removed = (stage == 'near_dedup')[kind == 2]
    res['near_dedup_recall_at_threshold'] = float(near_removed[above].mean())
    res['near_pairs_above_threshold'] = float(above.mean())
    # PII: every planted value must be gone from its row and its placeholder be there.
    from xtuner_like.curate.safe import PLACEHOLDERS
    pii = {int(k): v for k, v in json.loads(path.with_suffix('.pii.json').read_text()).items()}
    found = {k: [0, 0] for k in PII_KINDS}
    texts = {}
    for split in out.glob('*.jsonl'):
        if split.stem in ('train', 'eval'):
            for line in split.open():
                r = json.loads(line)
                if r['row'] in pii:
                    texts[r['row']] = ' '.join(_strings({k: v for k, v in r.items()
                                                     if k not in ('source', 'row')}))
    for row, (k, value) in pii.items():
        if row in texts:
            found[k][1] += 1
            found[k][0] += value not in texts[row] and PLACEHOLDERS[k] in texts[row]
    res['pii_recall'] = {k: a / max(b, 1) for k, (a, b) in found.items()}
    report = json.loads((out / 'report.json').read_text())
    redacted = sum(report['redactions'].values())
    planted = sum(b for _, b in found.values())
    res['pii_precision'] = min(planted, sum(a for a, _ in found.values())) / max(redacted, 1)
    res['split'] = report['split']
    return res


# ---------------------------------------------------------------- near dedup vs reference
def reference_input(path: Path, rows: int, dest: Path) -> None:
    """The first ``rows`` rows without junk or exact copies (what near dedup sees)."""
    kind = np.load(path.with_suffix('.npz'))['kind']
    with path.open() as f, dest.open('w') as g:
        for i, line in enumerate(f):
            if i >= rows:
                break
            if kind[i] not in (1, 4):
                g.write(line)


def run_reference(path: Path, threshold: float, num_perm: int = 128) -> dict:
    """datasketch MinHash + MinHashLSH, row by row; the rows it calls duplicates."""
    from datasketch import MinHash, MinHashLSH

    from xtuner_like.curate.near_dedup import shingles
    from xtuner_like.dataset.map_fns.alpaca import alpaca_map_fn
    rows, size = [json.loads(line) for line in path.open()], default_shingle_size()
    start = time.perf_counter()
    lsh, dups = MinHashLSH(threshold=threshold, num_perm=num_perm), []
    for i, row in enumerate(rows):
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch([s.encode() for s in shingles(
            alpaca_map_fn(row), 'conversation', size)])
        if lsh.query(m):
            dups.append(i)
        else:
            lsh.insert(i, m)
    return dict(seconds=time.perf_counter() - start, dups=dups, rows=len(rows))


def compare_near(path: Path, work: Path, rows: int, threshold: float) -> dict:
    """Our near-dup stage (format + near dedup, one process) vs the reference."""
    sub = work / f'near_{rows}.jsonl'
    reference_input(path, rows, sub)
    kept_rows = [i for i, k in enumerate(np.load(path.with_suffix('.npz'))['kind'][:rows])
                 if k not in (1, 4)]
    planted = np.load(path.with_suffix('.npz'))['kind'][kept_rows] == 2
    off = {f'{s}.enabled': False for s in ('clean', 'exact_dedup', 'safe', 'split')}
    ours = run_curate(sub, work / 'near_ours', 1, {**off, 'near_dedup.threshold': threshold})
    removed = np.zeros(len(kept_rows), bool)
    for line in (work / 'near_ours' / 'removed.jsonl').open():
        removed[json.loads(line)['row']] = True
    ref = run_reference(sub, threshold)
    ref_removed = np.zeros(len(kept_rows), bool)
    ref_removed[ref['dups']] = True
    return dict(rows=len(kept_rows),
                ours_rows_per_s=len(kept_rows) / ours['stages']['near_dedup'],
                ref_rows_per_s=len(kept_rows) / ref['seconds'],
                ours_pr=pr(removed, planted), ref_pr=pr(ref_removed, planted))


# ---------------------------------------------------------------- driver
def _child(args: list[str], env: dict | None = None) -> dict:
    """Run this script with ``args`` in a fresh process; its last stdout line is JSON."""
    out = subprocess.run([sys.executable, __file__] + args, check=True, text=True,
                         stdout=subprocess.PIPE, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def stage_speed(run: dict, stage: str) -> str:
    """Rows per second of one stage (its rows in over its seconds)."""
    secs = run['stages'].get(stage)
    if not secs:
        return '-'
    return f"{run.get('stage_rows', {}).get(stage, run['rows_in']) / secs:,.0f}"


def table(results: list[dict], near: dict | None) -> str:
    f = lambda p: f'{p[0]:.3f} / {p[1]:.3f}'  # noqa: E731
    lines = ['| rows | code | wall s | CPU s | rows/s | near rows/s | decontam rows/s | '
             'peak RSS MiB | clean P / R | exact P / R | near P / R | near R (J >= t) | '
             'PII R (min kind) | PII P |',
             '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | '
             '---: | ---: |']
    for r in results:
        s = r['score']
        lines.append(
            f"| {r['rows']:,} | {r['code']} | {r['run']['seconds']:.0f} | "
            f"{r['run']['cpu_seconds']:.0f} | {r['rows'] / r['run']['seconds']:,.0f} | "
            f"{stage_speed(r['run'], 'near_dedup')} | "
            f"{stage_speed(r['run'], 'decontaminate')}"
            f" | {r['run']['peak_rss_mib']:,.0f} | {f(s['clean'])} | {f(s['exact_dedup'])} | "
            f"{f(s['near_dedup'])} | {s['near_dedup_recall_at_threshold']:.3f} | "
            f"{min(s['pii_recall'].values()):.3f} | {s['pii_precision']:.3f} |")
    lines += ['', 'Seconds per stage: ' + '; '.join(
        f"{r['rows']:,} ({r['code']}): " + ', '.join(
            f'{k} {v:.1f}' for k, v in r['run']['stages'].items()) for r in results)]
    sizes = sorted({r['rows'] for r in results})
    for code in dict.fromkeys(r['code'] for r in results):
        runs = [r for r in results if r['code'] == code]
        if len(sizes) > 1 and len(runs) > 1:
            a, b = runs[0], runs[-1]
            for what in ('seconds', 'cpu_seconds'):
                growth = (b['run'][what] / a['run'][what]) / (b['rows'] / a['rows'])
                lines.append(f"{code}: {'wall' if what == 'seconds' else 'CPU'} time per row "
                             f"at {b['rows']:,} rows / at {a['rows']:,} rows: {growth:.2f} "
                             '(<= 1 means no worse than linear)')
    if near is None:
        return '\n'.join(lines)
    lines += ['', f"Near dedup alone on {near['rows']:,} rows (1 process each): ours "
              f"{near['ours_rows_per_s']:,.0f} rows/s, P / R {f(near['ours_pr'])}; reference "
              f"(datasketch MinHashLSH, row by row) {near['ref_rows_per_s']:,.0f} rows/s, "
              f"P / R {f(near['ref_pr'])}; speed-up "
              f"{near['ours_rows_per_s'] / near['ref_rows_per_s']:.1f}x"]
    return '\n'.join(lines)


# ---------------------------------------------------------------- the labelled planted benchmark
PHONES = ['+86 138 {a} {b}', '1{c}', '(010) {a} {b}', '+44 7700 {d}', '+44 (0)20 7946 {a}',
          '+49 30 {d}', '+33 1 23 45 {e}', '+91 98765 {f}', '+81 3-{a}-{b}', '(415) 555-{a}']
IBANS = ['GB82 WEST 1234 5698 7654 32', 'DE89 3704 0044 0532 0130 00',
         'FR14 2004 1010 0505 0001 3M02 606', 'NL91 ABNA 0417 1643 00']
DECOYS = ['Upgrade to version {v}.', 'It shipped on 2023-0{m}-1{m} at 10:30.',
          'ISBN 978-3-16-148410-0 is the book.', 'Send it to ZIP 9410{m}-1234.',
          'The point is at 37.77{m}929 -122.419416.', 'Compute 1234567 + 765432{m} now.',
          '@app.route("/item/{m}")\ndef item(): return {m}']
ZH_EDIT = [chr(c) for c in range(0x4e00, 0x4e00 + 2000)]


# Rows of the source files that a stage rightly removes or redacts, found with
# --show-unlabelled and read one by one: (stage, kind), the reason in the comment.
SOURCE_LABELS = {
    '5bcfbb6297': ('safe', 'source PII'),   # smtplib code logging in with an e-mail address
    '87481f79c4': ('safe', 'source PII'),   # a resume with an e-mail address and a phone
    '9eaaa6e878': ('safe', 'source PII'),   # a contact entry: emma.watson@gmail.com
    '4e208c9287': ('safe', 'source PII'),   # hotline numbers: 1-800-362-0101, ...
    '6655f1a2e0': ('safe', 'source PII'),   # router set-up: 192.168.1.1 (an IP address)
    '22748799fe': ('decontaminate', 'source overlap'),  # its input article is an eval row's
}


def _key(row: dict) -> str:
    """A short name of a source row, from its content (for SOURCE_LABELS)."""
    return hashlib.sha1(json.dumps([row.get('instruction'), row.get('input') or '',
                                    row.get('output')], ensure_ascii=False).encode()
                        ).hexdigest()[:10]


def _rows(data_dir: Path, name: str, n: int, min_chars: int) -> list[dict]:
    rows = json.loads((data_dir / name).read_text())
    return [r for r in rows if len(r['output']) > min_chars][:n]


def _pii_text(rng: random.Random, kind: str, lang: str) -> str:
    d = lambda k: ''.join(rng.choice('0123456789') for _ in range(k))  # noqa: E731
    if kind == 'phone':
        value = rng.choice(PHONES[:3] if lang == 'zh' else PHONES).format(
            a=d(4), b=d(4), c='3' + d(9), d=d(6), e=d(2) + ' ' + d(2), f=d(5))
    elif kind == 'iban':
        value = rng.choice(IBANS)
    elif kind == 'secret':
        value = 'aws_secret_access_key = ' + ''.join(rng.choice(
            'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+') for _ in range(40))
    elif kind == 'email':
        value = f'user{d(3)}@example.org'
    else:                                                     # credit_card
        value = _card(np.random.default_rng(rng.randrange(1 << 30)))
    return ('请联系：' if lang == 'zh' else 'Contact: ') + value


def _junk(rng: random.Random, kind: str, row: dict) -> str:
    if kind == 'echo':
        return row['instruction']
    if kind == 'gibberish':
        return ' '.join(''.join(rng.choice('abcdefghijklmnopqrstuvwxyz')
                                for _ in range(rng.randint(3, 9))) for _ in range(30))
    if kind == 'base64':
        return 'Here: ' + ''.join(rng.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst'
                                             'uvwxyz0123456789+/') for _ in range(200))
    if kind == 'mojibake':
        return row['output'].replace('e', 'Ã©', 1).replace("'", 'â€™', 1) + ' CafÃ© naÃ¯ve.'
    return '#@!$%^&*(){}[]<>~' * 8                               # symbols


def planted_corpus(data_dir: Path, work: Path, per_kind: int, seed: int = 0) -> dict:
    """Train and eval files with labelled plants: ``labels[row] = [stage, kind, lang]``."""
    from xtuner_like.curate.text import normalize
    rng = random.Random(seed)
    en = _rows(data_dir, 'alpaca_5000.json', 5000, 80)
    zh = _rows(data_dir, 'alpaca_zh_demo.json', 1000, 30)
    # Rows the source files hold twice (or more) are no plants' material: a plant made of
    # one would be a real duplicate of the other copy. In the pool, the later copies are
    # labelled 'source duplicate' (exact dedup must remove them).
    same = lambda r: normalize(' '.join((r['instruction'], r.get('input') or '',  # noqa: E731
                                         r['output'])))
    copies = Counter(same(r) for r in en + zh)
    unique = lambda rs: [r for r in rs if copies[same(r)] == 1]  # noqa: E731
    # originals of the duplicates are in the corpus; other plants use rows that are not
    n_en, n_zh = len(en) - per_kind * 16, len(zh) - per_kind * 8
    pool = {'en': en[:n_en], 'zh': zh[:n_zh]}
    rest = {'en': unique(en[n_en:]), 'zh': unique(zh[n_zh:])}
    evals = {lang: rest[lang][:per_kind * 2] for lang in rest}
    spare = {lang: iter(rest[lang][per_kind * 2:]) for lang in rest}
    rows, labels = [], {}

    def plant(row: dict, stage: str, kind: str, lang: str) -> None:
        labels[len(rows)] = [stage, kind, lang]
        rows.append(row)
    seen = set()
    for lang, base in pool.items():
        for r in base:
            if same(r) in seen:
                plant(r, 'exact_dedup', 'source duplicate', lang)
            else:
                seen.add(same(r))
                known = SOURCE_LABELS.get(_key(r))
                if known:
                    plant(r, known[0], known[1], lang)
                else:
                    rows.append(r)
    for lang, base in pool.items():
        ok = [i for i, r in enumerate(base) if copies[same(r)] == 1 and _key(r) not in
              SOURCE_LABELS]
        picks = iter(rng.sample(ok, per_kind * 6))
        take = lambda: dict(base[next(picks)])  # noqa: E731
        fresh = lambda: dict(next(spare[lang]))  # noqa: E731
        for _ in range(per_kind):
            r = take()
            plant({**r, 'instruction': r['instruction'].upper() + ' !'}, 'exact_dedup', 'exact', lang)
            r = take()
            if lang == 'en':
                words = r['output'].split()
                for i in rng.sample(range(len(words)), max(1, len(words) // 12)):
                    words[i] = f'edit{rng.randrange(10 ** 6)}'
                plant({**r, 'output': ' '.join(words)}, 'near_dedup', 'edit_j~0.85', lang)
                r = take()
                while len(set(r['output'].split('. '))) < 3:    # a reordering must show
                    r = take()
                parts = r['output'].split('. ')
                while '. '.join(parts) == r['output']:
                    rng.shuffle(parts)
                plant({**r, 'output': '. '.join(parts)}, 'near_dedup', 'shuffled', lang)
            else:
                chars = list(r['output'])
                for i in rng.sample(range(len(chars)), max(1, len(chars) // 20)):
                    chars[i] = rng.choice(ZH_EDIT)
                plant({**r, 'output': ''.join(chars)}, 'near_dedup', 'chars_5%', lang)
            for kind in ('phone', 'email', 'iban', 'secret', 'credit_card'):
                if lang == 'en' or kind in ('phone', 'email'):
                    r = fresh()
                    plant({**r, 'output': r['output'] + '\n' + _pii_text(rng, kind, lang),
                           'instruction': f"{r['instruction']} ({kind} {rng.randrange(10 ** 6)})"},
                          'safe', kind, lang)
            if lang == 'en':
                r = fresh()
                plant({**r, 'output': r['output'] + ' ' + rng.choice(DECOYS).format(
                    v=f'1.{rng.randrange(9)}.3.4', m=rng.randrange(1, 9)),
                       'instruction': r['instruction'] + f' (decoy {rng.randrange(10 ** 6)})'},
                      'safe', 'decoy', lang)
                for kind in ('echo', 'gibberish', 'base64', 'mojibake', 'symbols'):
                    r = fresh()
                    plant({**r, 'output': _junk(rng, kind, r)}, 'clean', kind, lang)
            elif lang == 'zh':
                r = fresh()
                plant({**r, 'output': r['instruction']}, 'clean', 'echo', lang)
        for i, e in enumerate(evals[lang]):
            other = next(spare[lang])['output']
            kind = 'prompt_copy_new_answer' if i % 2 else 'whole_row'
            plant({'instruction': e['instruction'], 'input': e.get('input', ''),
                   'output': other if i % 2 else e['output']}, 'decontaminate', kind, lang)
    order = list(range(len(rows)))      # plants after their originals (first one is kept)
    work.mkdir(parents=True, exist_ok=True)
    train, evl = work / 'planted_train.jsonl', work / 'planted_eval.jsonl'
    train.write_text(''.join(json.dumps(rows[i], ensure_ascii=False) + '\n' for i in order))
    evl.write_text(''.join(json.dumps(e, ensure_ascii=False) + '\n'
                           for lang in evals for e in evals[lang]))
    return {'train': str(train), 'eval': str(evl),
            'labels': {new: labels[old] for new, old in enumerate(order) if old in labels}}


def run_planted(train: str, evl: str, out: Path) -> dict:
    """One checkout's curation of the planted files (in a child process: its own code)."""
    from xtuner_like.curate.config import load_curate_config
    from xtuner_like.curate.pipeline import curate
    cfg = load_curate_config(None, {'output.removed': True, 'split.enabled': False,
                                    'decontaminate.enabled': True,
                                    'decontaminate.eval_files': [evl]})
    started = time.perf_counter()
    report = curate([train], out, cfg, log=lambda m: None)
    return {'seconds': round(time.perf_counter() - started, 1),
            'stages': {s.name: s.seconds for s in report.stages}}


PLACEHOLDER_OF = {'phone': '<PHONE>', 'email': '<EMAIL>', 'iban': '<IBAN>',
                  'secret': ('<SECRET>', '<API_KEY>'), 'credit_card': '<CREDIT_CARD>'}


def score_planted(labels: dict, out: Path) -> dict:
    """Recall per (stage, kind, lang) and precision per stage, from removed.jsonl and the
    written rows (placeholders)."""
    removed = {}
    for line in (out / 'removed.jsonl').read_text().splitlines():
        r = json.loads(line)
        removed[r['row']] = r['stage']
    written = {json.loads(line)['row']: line for line in
               (out / 'train.jsonl').read_text().splitlines()}
    hits: dict = {}
    for row, (stage, kind, lang) in labels.items():
        if stage == 'safe' and kind != 'decoy':
            marks = PLACEHOLDER_OF.get(kind, ('<PHONE>', '<EMAIL>', '<IBAN>', '<SECRET>',
                                              '<API_KEY>', '<CREDIT_CARD>', '<IP_ADDRESS>'))
            got = any(m in written.get(row, '') for m in (marks if isinstance(marks, tuple)
                                                         else (marks,)))
        elif stage == 'safe':                                    # decoy: nothing redacted
            got = row in written and not any(m in written[row] for m in (
                '<PHONE>', '<EMAIL>', '<IBAN>', '<SECRET>', '<CREDIT_CARD>', '<IP_ADDRESS>'))
        elif kind == 'mojibake':                                # dropped, or repaired
            got = removed.get(row) == stage or (row in written and 'Ã' not in written[row])
        elif stage == 'near_dedup':             # a reordering may leave the text unchanged
            got = removed.get(row) in ('near_dedup', 'exact_dedup')
        else:
            got = removed.get(row) == stage
        hits.setdefault(f'{stage} | {kind} | {lang}', []).append(got)
    precision = {}
    for stage in ('clean', 'exact_dedup', 'near_dedup', 'decontaminate'):
        took = [r for r, s in removed.items() if s == stage]
        right = sum(1 for r in took if labels.get(r, [''])[0] == stage)
        precision[stage] = (right / len(took) if took else 1.0, len(took))
    redacted = [r for r, line in written.items()
                if any(m in line for m in ('<PHONE>', '<EMAIL>', '<IBAN>', '<SECRET>',
                                           '<API_KEY>', '<CREDIT_CARD>', '<IP_ADDRESS>'))]
    wrong = [r for r in redacted if labels.get(r, ['', ''])[:2] in (['', ''], ['safe', 'decoy'])
             or labels[r][0] != 'safe']
    precision['safe'] = (1 - len(wrong) / len(redacted) if redacted else 1.0, len(redacted))
    return {'recall': {k: (sum(v) / len(v), len(v)) for k, v in sorted(hits.items())},
            'precision': precision}


def unlabelled(labels: dict, out: Path, train: str) -> str:
    """The rows each stage removed (or redacted) that carry no label of that stage: the
    false positives, or real junk and duplicates of the source files (then label them in
    SOURCE_LABELS, with the reason)."""
    rows = Path(train).read_text().splitlines()
    lines = []
    for line in (out / 'removed.jsonl').read_text().splitlines():
        r = json.loads(line)
        if labels.get(r['row'], [''])[0] != r['stage']:
            lines.append((r['stage'], r['row'], f"{r['reason']}: {r['detail']}"))
    marks = ('<PHONE>', '<EMAIL>', '<IBAN>', '<SECRET>', '<API_KEY>', '<CREDIT_CARD>',
             '<IP_ADDRESS>')
    for line in (out / 'train.jsonl').read_text().splitlines():
        r = json.loads(line)
        found = [m for m in marks if m in line]
        if found and labels.get(r['row'], [''])[0] != 'safe':
            lines.append(('safe', r['row'], ' '.join(found)))
    text = []
    for stage, row, why in sorted(lines):
        raw = json.loads(rows[row])
        text.append(f"{stage} | row {row} | {why} | {_key(raw)} | "
                    f"{json.dumps(raw, ensure_ascii=False)[:300]}")
    return '\n'.join(text)


def planted_table(names: list[str], scores: list[dict], runs: list[dict]) -> str:
    head = ' | '.join(names)
    lines = [f'| stage | kind | lang | {head} |', '| --- | --- | --- |' + ' ---: |' * len(names)]
    for key in scores[0]['recall']:
        cells = ' | '.join(f"{s['recall'][key][0]:.2f}" for s in scores)
        lines.append(f"| {key} | {cells} |  (n={scores[0]['recall'][key][1]})")
    lines.append('')
    lines.append(f'| stage | precision: {head} |')
    lines.append('| --- |' + ' ---: |' * len(names))
    for stage in scores[0]['precision']:
        cells = ' | '.join(f"{s['precision'][stage][0]:.3f} ({s['precision'][stage][1]} "
                           f'rows)' for s in scores)
        lines.append(f'| {stage} | {cells} |')
    lines.append('')
    lines.append('| stage seconds | ' + ' | '.join(names) + ' |')
    lines.append('| --- |' + ' ---: |' * len(names))
    for stage in runs[-1]['stages']:
        lines.append(f'| {stage} | ' + ' | '.join(str(r['stages'].get(stage, '-'))
                                                 for r in runs) + ' |')
    return '\n'.join(lines)


def planted_main(args: argparse.Namespace) -> None:
    work = Path(args.work_dir)
    corpus = planted_corpus(Path(args.data_dir), work, args.per_kind)
    names, scores, runs = [], [], []
    for code in args.code:
        name = Path(code).resolve().name
        out = work / f'planted_out_{len(names)}'
        if args.reuse and (out / 'run.json').is_file():
            runs.append(json.loads((out / 'run.json').read_text()))
            names.append(Path(code).resolve().name)
            scores.append(score_planted({int(k): v for k, v in corpus['labels'].items()}, out))
            continue
        env = {**os.environ, 'BENCH_CURATE_CODE': str(Path(code).resolve()),
               'PYTHONPATH': str(Path(code).resolve())}
        done = subprocess.run([sys.executable, __file__, '--child', 'planted', corpus['train'],
                               corpus['eval'], str(out)], check=True, text=True, env=env,
                              stdout=subprocess.PIPE).stdout
        runs.append(json.loads(done.strip().splitlines()[-1]))
        (out / 'run.json').write_text(json.dumps(runs[-1]))
        names.append(name)
        scores.append(score_planted({int(k): v for k, v in corpus['labels'].items()}, out))
    text = planted_table(names, scores, runs)
    if args.show_unlabelled:
        print(unlabelled({int(k): v for k, v in corpus['labels'].items()}, out,
                         corpus['train']))
    print(text)
    (work / 'bench_curate_planted.md').write_text(text + '\n')


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--rows', type=int, nargs='+', default=[50000])
    p.add_argument('--num-proc', type=int, default=2)
    p.add_argument('--reference-rows', type=int, default=50000)
    p.add_argument('--threshold', type=float, default=None,
                   help="near_dedup.threshold (default: each checkout's own default)")
    p.add_argument('--skip-reference', action='store_true',
                   help='leave out near dedup against the datasketch reference')
    p.add_argument('--edit-rate', type=float, default=0.03)
    p.add_argument('--work-dir', default='/tmp/bench_curate')
    p.add_argument('--reuse', action='store_true', help='keep corpora already generated')
    p.add_argument('--child', nargs='+', help=argparse.SUPPRESS)
    p.add_argument('--planted', action='store_true', help='the labelled planted benchmark')
    p.add_argument('--code', nargs='+', default=[str(ROOT)],
                   help='checkouts whose curation is scored and timed, each in its own '
                        'process (e.g. before after)')
    p.add_argument('--data-dir', default='/work/shared/data',
                   help='--planted: folder with alpaca_5000.json and alpaca_zh_demo.json')
    p.add_argument('--per-kind', type=int, default=40, help='--planted: rows per kind')
    p.add_argument('--show-unlabelled', action='store_true',
                   help="--planted: print the last checkout's removals and redactions of "
                        'rows not planted for that stage')
    args = p.parse_args()
    work = Path(args.work_dir)
    if args.planted and not args.child:
        return planted_main(args)
    if args.child:                                   # one step, in its own process
        step, *rest = args.child
        if step == 'generate':
            generate(int(rest[0]), Path(rest[1]), args.edit_rate)
            print(json.dumps({}))
        elif step == 'curate':
            eval_file = Path(rest[0]).with_suffix('.eval.jsonl')
            print(json.dumps(run_curate(Path(rest[0]), Path(rest[1]), int(rest[2]), {
                **({'near_dedup.threshold': args.threshold} if args.threshold is not None
                   else {}),
                'decontaminate.enabled': True, 'decontaminate.eval_files': [str(eval_file)]})))
        elif step == 'planted':
            print(json.dumps(run_planted(rest[0], rest[1], Path(rest[2]))))
        elif step == 'near':
            print(json.dumps(compare_near(Path(rest[0]), work, int(rest[1]),
                                            args.threshold or 0.8)))
        return
    work.mkdir(parents=True, exist_ok=True)
    common = ['--work-dir', str(work), '--edit-rate', str(args.edit_rate)] + (
        ['--threshold', str(args.threshold)] if args.threshold is not None else [])
    threshold = args.threshold if args.threshold is not None else 0.8
    results = []
    for n in args.rows:
        path = work / f'corpus_{n}.jsonl'
        if not (args.reuse and path.with_suffix('.eval.jsonl').is_file()):
            print(f'== {n:,} rows: generating', file=sys.stderr)
            _child(common + ['--child', 'generate', str(n), str(path)])
        for k, code in enumerate(args.code):
            name = Path(code).resolve().name
            print(f'== {n:,} rows: curating with {name} (num_proc={args.num_proc})',
                  file=sys.stderr)
            out = work / f'out_{n}_{k}'
            env = {**os.environ, 'BENCH_CURATE_CODE': str(Path(code).resolve()),
                   'PYTHONPATH': str(Path(code).resolve())}
            run = _child(common + ['--child', 'curate', str(path), str(out),
                                   str(args.num_proc)], env)
            results.append(dict(rows=n, code=name, run=run, score=score(path, out, threshold)))
            # each run's line as soon as it is done: a long run cut short keeps the rest
            (work / 'bench_curate.partial.md').write_text(table(results, None) + '\n')
    near = None
    if not args.skip_reference:
        first = work / f'corpus_{args.rows[0]}.jsonl'
        print('== near dedup vs reference', file=sys.stderr)
        near = _child(common + ['--child', 'near', str(first),
                                str(min(args.reference_rows, args.rows[0]))])
    text = table(results, near)
    print(text)
    (work / 'bench_curate.md').write_text(text + '\n')
    (work / 'bench_curate.json').write_text(json.dumps(dict(results=results, near=near),
                                                       indent=1, default=str))


if __name__ == '__main__':
    main()
