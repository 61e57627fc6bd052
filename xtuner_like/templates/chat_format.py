"""ChatFormat: the one resolved answer to "how does this model see a conversation?".

A run used to look its template up in several places (the dataset spec for training and the
chat hook, the top-level ``prompt_template`` knob for the export), and they could disagree:
``--cfg-options train_dataloader.dataset.prompt_template=llama3_chat`` trained on Llama-3
text and exported a ChatML ``chat_template``. Now the format is built once, from what the
dataset renders (``xtuner_like.dataset.spec.chat_format_of`` reads the dataset dict: the
dataset side knows where a config keeps it), and handed to
everyone who needs it: the dataset (``SftDataset.chat_format``), ``EvaluateChatHook``,
``HFExportHook``, ``convert pth_to_hf``, ``chat`` and ``log-dataset``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .builtin import TEMPLATES
from .jinja import to_chat_template
from .prompt import PromptTemplate
from .system import resolve_system


@dataclass(frozen=True)
class ChatFormat:
    """Template, system text, stop words and the matching ``chat_template``, resolved once.

    Attributes:
        template: the prompt template, or None for pre-training (every token trained, and
            an export keeps the tokenizer's own ``chat_template``).
        system: the system text (a system-template name already resolved), or None.
        stop_words: texts that end a reply: the template's, then any extra ones.
        chat_template: Jinja text that renders exactly the training text (None without a
            template).
    """

    template: PromptTemplate | None
    system: str | None = None
    stop_words: tuple[str, ...] = ()
    chat_template: str | None = None

    @classmethod
    def build(cls, template: str | PromptTemplate | None, system: str | None = None,
              extra_stop_words: Sequence[str] = ()) -> 'ChatFormat':
        """Resolve a template name (or object) and a system-template name or text."""
        tpl = template if template is None or isinstance(template, PromptTemplate) \
            else TEMPLATES.get(template)
        system_text = resolve_system(system)
        stops = [*(tpl.stop_words if tpl is not None else ()), *extra_stop_words]
        return cls(template=tpl, system=system_text,
                   stop_words=tuple(dict.fromkeys(w for w in stops if w)),
                   chat_template=None if tpl is None else to_chat_template(tpl, system_text))

    @property
    def name(self) -> str | None:
        """The template's registry name (None for pre-training)."""
        return None if self.template is None else self.template.name
