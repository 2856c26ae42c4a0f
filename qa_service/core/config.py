"""Service settings, read from the environment (prefix ``QA_``) or a ``.env`` file."""

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    chroma_url: str | None = None
    collection: str = "documents"

    # cl100k tokens; MiniLM reads at most 256 word pieces, so chunks stay well below that.
    chunk_size: int = Field(200, ge=16, le=2000)
    chunk_overlap: int = Field(40, ge=0)
    embed_batch_size: int = Field(32, ge=1)
    # Chunks embedded per call during ingest; documents are written after each such call.
    ingest_batch: int = Field(128, ge=1)

    top_k: int = Field(5, ge=1, le=100)
    llm: Literal["local", "openai", "extractive"] = "local"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    api_keys_file: Path | None = None

    @field_validator("chroma_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("collection")
    @classmethod
    def _chroma_collection_name(cls, value: str) -> str:
        # Chroma's own rule, checked early so the error names the setting.
        if not 3 <= len(value) <= 512:
            raise ValueError("collection name must be 3 to 512 characters")
        return value

    @cached_property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @cached_property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"
