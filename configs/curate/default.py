# Data curation defaults for `xtuner-like curate INPUT... -o OUT_DIR`.
# A config given with --config holds only what it changes; --cfg-options stage.key=value
# overrides one value (e.g. near_dedup.threshold=0.8 split.eval_count=500).
# Stages run in this order; each has enabled=True/False.

# Every input becomes one conversation form, with its source file and row number.
# map_fn=None detects the format from the columns (alpaca, openai, sharegpt, text ...);
# give a registered name (`xtuner-like list-dataset-format`) to force one.
# on_bad_row='drop' removes rows the map_fn rejects (counted in the report); 'error' stops.
format = dict(map_fn=None, on_bad_row='drop')

clean = dict(
    enabled=True,
    min_reply_chars=1,          # replies shorter/longer than this (characters) are dropped
    max_reply_chars=32000,
    tokenizer=None,             # a tokenizer folder to bound replies in tokens as well
    min_reply_tokens=None,
    max_reply_tokens=None,
    max_line_repetition=0.5,    # share of non-empty lines that repeat an earlier line
    max_ngram_repetition=0.5,   # share of word 3-grams that repeat an earlier one
    max_char_repetition=0.6,    # share of character 10-grams that repeat an earlier one
    min_text_ratio=0.4,         # letters, digits and spaces over all characters
    max_mojibake_ratio=0.01,    # mis-decoded characters (U+FFFD, 'Ã©'-like pairs) per char
)

# Normalized text: case, whitespace and punctuation ignored. by='conversation' or 'prompt'.
exact_dedup = dict(enabled=True, by='conversation')

# MinHash LSH (rensa); candidates are confirmed by their exact shingle Jaccard similarity.
# The first row of each cluster (input order) is kept. Shingles are word 2-grams: a word
# edited in a short reply changes 2 shingles, not 3, so a copy with a few edits stays well
# above the threshold while unrelated rows stay far below it (tools/bench_curate.py).
# The LSH band shape follows from threshold, num_perm and max_miss: the chance to miss a
# pair at the threshold (less for every pair above it).
near_dedup = dict(enabled=True, by='conversation', threshold=0.7, shingle_size=2,
                  num_perm=128, seed=1, max_miss=0.02)

# Drop rows sharing a word n-gram with an evaluation set (files in any readable format).
decontaminate = dict(enabled=False, eval_files=[], map_fn=None, ngram_size=13,
                     min_ngram_size=8)

# Personal data and secrets: action='redact' writes <EMAIL>, <PHONE>, <IP_ADDRESS>,
# <CREDIT_CARD>, <API_KEY>; action='drop' removes the row instead.
safe = dict(enabled=True, kinds=['email', 'phone', 'ip_address', 'credit_card', 'api_key'],
            action='redact')

# Seeded by content: a row lands in the same split on every rerun. eval_count wins if set.
split = dict(enabled=True, eval_ratio=0.02, eval_count=None, seed=0)

output = dict(format='jsonl',   # 'jsonl' (OpenAI messages) or 'parquet'
              examples=20,      # removed rows shown in the report
              clusters=5,       # largest near-duplicate clusters shown in the report
              removed=False)    # also write removed.jsonl: source, row, stage, reason

# 'datasets' (memory-mapped Arrow, num_proc workers) or 'ray' (Ray Data; address=None
# starts a local instance, 'auto' or 'ray://host:10001' joins a cluster).
engine = dict(type='datasets', num_proc=1, batch_size=1000, address=None)
