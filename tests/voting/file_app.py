"""An app of its own on a SQLite file (not the shared test transaction), for the tests of what
holds SQLite's write lock and when."""

from __future__ import annotations

from pathlib import Path

from consult import create_app


def sqlite_file_app(tmp_path: Path, **settings):
    (tmp_path / "instance").mkdir(exist_ok=True)
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'consult.db'}",
            "SECRET_KEY": "test-secret",
            "SEARCH_DIR": str(tmp_path / "search"),
            "RATE_LIMITS": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
            **settings,
        }
    )
