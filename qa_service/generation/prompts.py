"""Prompt templates, loaded by name from the ``prompts/`` folder."""

from functools import cache
from pathlib import Path

import yaml
from langchain_core.prompts import PromptTemplate

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "prompts"


class Prompts:
    """The templates of one folder, each rendered with its named values.

    >>> "And when?" in Prompts().render("rewrite", history="user: Who?", question="And when?")
    True
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or DEFAULT_FOLDER
        if not (self.folder / "system.md").is_file():
            raise FileNotFoundError(f"no prompt templates in {self.folder} (set QA_PROMPTS_DIR)")

    def render(self, name: str, **values: object) -> str:
        return _template(self.folder / f"{name}.md").format(**values).strip()

    def refusal(self, language: str) -> str:
        wording = _refusals(self.folder / "refusal.yaml")
        return wording.get(language, wording["en"])

    def is_refusal(self, text: str) -> bool:
        """Whether a generated answer is (or opens with) one of the refusal sentences."""
        normalised = " ".join(text.lower().replace("\u2019", "'").split())
        return any(
            normalised.startswith(refusal.lower().rstrip("."))
            for refusal in _refusals(self.folder / "refusal.yaml").values()
        )


@cache
def _template(path: Path) -> PromptTemplate:
    return PromptTemplate.from_file(path, encoding="utf-8")


@cache
def _refusals(path: Path) -> dict[str, str]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict) or "en" not in loaded:
        raise ValueError(f"{path} must map language codes to sentences, with 'en'")
    return {str(language): str(sentence) for language, sentence in loaded.items()}
