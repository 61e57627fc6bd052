"""User reward functions that tests name by import path (``type='reward_fns.e_share'``)."""


def three(completions, rows):
    return [3.0] * len(completions)


def scaled(completions, rows, factor=1.0):
    return [factor * len(c) for c in completions]


def e_share(completions, rows):
    """A trivial reward: the share of the letter 'e' in the completion."""
    return [c.count('e') / max(len(c), 1) for c in completions]
