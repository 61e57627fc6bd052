# Data curation defaults for `xtuner-like curate INPUT... -o OUT_DIR`.
# A config given with --config holds only what it changes; --cfg-options stage.key=value
# overrides one value (e.g. near_dedup.threshold=0.8 split.eval_count=500).
# The stages (format, clean, exact_dedup, near_dedup, decontaminate, safe, split) declare
# their own options and defaults (xtuner_like/curate/<stage>.py; the table is in
# docs/curation.md); a config sets them the same way, e.g.
#   near_dedup = dict(threshold=0.8, by='reply')
# This file holds the two sections that are not stages.

output = dict(format='jsonl',   # 'jsonl' (one sample a line, as training reads it) or 'parquet'
              examples=20,      # removed rows shown in the report
              clusters=5,       # largest near-duplicate clusters shown in the report
              removed=False)    # also write removed.jsonl: source, row, stage, reason

# 'datasets' (memory-mapped Arrow, num_proc workers) or 'ray' (Ray Data; address=None
# starts a local instance, 'auto' or 'ray://host:10001' joins a cluster).
engine = dict(type='datasets', num_proc=1, batch_size=1000, address=None)
