"""The registry's schema, as append-only named migrations.

Never edit or reorder a migration that has shipped: add a new one. Each runs once,
in its own transaction, and is recorded in ``_migrations`` by name.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils


def _0001_initial(db: sqlite_utils.Database) -> None:
    db.executescript("""
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,            -- 'bundled' (the package's own cards) or 'user' (hub index PATH)
        path TEXT,                     -- absolute for user sources; NULL for bundled (found at run time)
        label TEXT NOT NULL UNIQUE,
        added_at TEXT NOT NULL
    );
    CREATE TABLE cards (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id),
        relpath TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        mtime_ns INTEGER NOT NULL,
        size INTEGER NOT NULL,
        dialect TEXT,
        name TEXT NOT NULL,
        status TEXT NOT NULL,          -- 'ok', 'warnings' or 'errors'
        errors INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        diagnostics TEXT NOT NULL,     -- JSON list of lint diagnostics
        record TEXT,                   -- JSON ModelRecord, NULL when the card has no usable data
        indexed_at TEXT NOT NULL,
        UNIQUE (source_id, relpath)
    );
    CREATE TABLE models (
        id INTEGER PRIMARY KEY REFERENCES cards(id),
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        uid TEXT,
        dialect TEXT NOT NULL,
        architecture TEXT,
        framework TEXT,
        task TEXT,
        datasets TEXT NOT NULL,        -- JSON list
        license TEXT,
        version TEXT,
        mindspore_version TEXT,
        updated TEXT,
        base_model TEXT,
        author TEXT,
        summary TEXT,
        body TEXT,
        top1 REAL                      -- top-1 accuracy in percent, for --min-top1
    );
    CREATE INDEX models_name ON models(name);
    CREATE INDEX models_name_key ON models(name_key);
    CREATE INDEX models_uid ON models(uid);
    CREATE TABLE assets (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models(id),
        idx INTEGER NOT NULL,
        filename TEXT NOT NULL,
        format TEXT NOT NULL,
        url TEXT,
        repo_id TEXT,
        revision TEXT,
        sha256 TEXT,
        sha256_kind TEXT NOT NULL,
        name_hash TEXT,
        size INTEGER
    );
    CREATE INDEX assets_model ON assets(model_id);
    CREATE TABLE metrics (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models(id),
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        value REAL,
        value_text TEXT,
        dataset TEXT,
        split TEXT,
        source TEXT NOT NULL
    );
    CREATE INDEX metrics_model ON metrics(model_id);
    CREATE TABLE variants (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models(id),
        name TEXT NOT NULL,
        metrics TEXT NOT NULL,
        weights TEXT NOT NULL,
        line INTEGER NOT NULL
    );
    CREATE INDEX variants_model ON variants(model_id);
    """)
    db.table("models").enable_fts(["name", "summary", "body"], create_triggers=True, tokenize="unicode61")


def _0002_meta(db: sqlite_utils.Database) -> None:
    # Key/value facts about the index itself, e.g. which analyzer produced it.
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _0003_revisions(db: sqlite_utils.Database) -> None:
    # Cards fetched from a hub: the commit they came from and the refs (branches, tags) that named it.
    db.execute("ALTER TABLE models ADD COLUMN revision TEXT")
    db.execute("ALTER TABLE models ADD COLUMN refs TEXT NOT NULL DEFAULT '[]'")


def _0004_top1_benchmark(db: sqlite_utils.Database) -> None:
    # The benchmark a top-1 was measured on, so --min-top1 compares like with like; the stored analyzer
    # version is dropped so the next read re-indexes every card and fills it in.
    db.execute("ALTER TABLE models ADD COLUMN top1_benchmark TEXT")
    db.execute("DELETE FROM meta WHERE key = 'analyzer'")


#: In order. Append only.
MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("0001_initial", _0001_initial),
    ("0002_meta", _0002_meta),
    ("0003_revisions", _0003_revisions),
    ("0004_top1_benchmark", _0004_top1_benchmark),
]


def applied(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations this database has had, in order; asked with sqlite3 alone."""
    try:
        return [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
    except sqlite3.OperationalError:  # no _migrations table: a new database
        return []


def pending(conn: sqlite3.Connection) -> bool:
    """Whether any migration is still to run (sqlite-utils loads only when one is)."""
    done = set(applied(conn))
    return any(name not in done for name, _ in MIGRATIONS)


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    if "_migrations" not in db.table_names():
        with db.atomic():
            db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = set(applied(db.conn))
    now: list[str] = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        with db.atomic():
            fn(db)
            db.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                       [name, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")])
        now.append(name)
    return now
