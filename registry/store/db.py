"""The SQLite registry: card sources indexed into models, assets and metrics, with full-text search.

It keeps itself in sync: every read first compares each source's files with what
was indexed (a ``stat`` per file, and a hash only when the stat changed), and
re-indexes just what changed, in one transaction, so a crash leaves the previous
state and readers (WAL mode) never see half an index.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry import config
from registry.card.cardfile import walk
from registry.card.version import ANALYZER_VERSION
from registry.config import BUNDLED, CATALOG, REMOTE
from registry.errors import InvalidCardError, ReadOnlyError, RegistryError, UnknownModelError, UsageError
from registry.record import IMAGENET_1K, ModelRecord, benchmark_key
from registry.settings import Settings, or_env

from .dbfile import connect
from .fulltext import RANKED, matched, words
from .migrations import migrate, pending
from .origin import with_origin
from .resolve import DETECT, Candidate, Resolution, choose, name_key, parse_spec, pinned, suggest
from .rows import Listing, Source, SyncReport, model_rows

if TYPE_CHECKING:
    import sqlite_utils

    from registry.card.analyze import CardResult


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Registry:
    """The index of every card source: list, search, resolve names, sync, as a context manager.

    Args:
        path: the database file; by default the user's registry (``settings.registry``). Created and migrated on
            first use; the default one starts as a copy of a checkout's committed ``registry.db`` (the bundled
            cards), which is only read.
        auto_sync: bring the index up to date with every source before the first read (a stat per card file).
        settings: where the hub home is (its fetched cards are a source); None reads the environment.

    Raises:
        RegistryError: the file cannot be opened, migrated or written, or is not a registry.
    """

    def __init__(self, path: str | Path | None = None, *, auto_sync: bool = True,
                 settings: Settings | None = None) -> None:
        self.settings = or_env(settings)
        self.path = Path(path) if path is not None else self.settings.registry
        self.auto_sync = auto_sync
        #: ``read_only``: the file cannot be written (a shared, read-only hub home): it is read as it is, never
        #: synced, and a command that would change it gets a ``ReadOnlyError``.
        try:
            conn, self.read_only = connect(self.path, config.bundled_registry() if path is None else None)
        except (OSError, sqlite3.Error) as e:
            raise RegistryError(f"cannot open the registry at {self.path}: {e}; set HUB_REGISTRY to a "
                                "writable path") from e
        self.conn = conn
        self._db: sqlite_utils.Database | None = None
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            if self.read_only:
                if pending(conn):
                    raise ReadOnlyError(self.path, "bringing the registry to this version of hub")
            else:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self.db.enable_wal()
                if pending(conn):
                    migrate(self.db)
                self._ensure_bundled()
        except sqlite3.DatabaseError as e:
            raise RegistryError(f"the registry at {self.path} is unusable ({e})") from e
        self._synced = False

    def _writing(self, action: str) -> None:
        """``ReadOnlyError`` before a change to a read-only registry."""
        if self.read_only:
            raise ReadOnlyError(self.path, action)

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over the same connection, for migrations (full-text search) and WAL: imported on first
        use, since reads and row writes need only sqlite3, and sqlite-utils with click and dateutil is a
        measurable part of a command's start-up (``python -m bench.startup``).
        """
        if self._db is None:
            from ._sqlite_utils import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def _query(self, sql: str, args: Iterable[Any] = ()) -> Iterator[dict[str, Any]]:
        """Rows as dicts, as ``sqlite_utils.Database.query`` gives them."""
        cur = self.conn.execute(sql, list(args))
        keys = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(keys, row, strict=True))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # sources ------------------------------------------------------------------------------------

    def _ensure_bundled(self) -> None:
        if not self.conn.execute("SELECT 1 FROM sources WHERE kind = ?", [BUNDLED]).fetchone():
            with self.conn:
                self.conn.execute("INSERT OR IGNORE INTO sources (kind, path, label, added_at) VALUES (?, NULL, ?, ?)",
                                [BUNDLED, BUNDLED, _now()])

    def sources(self) -> list[Source]:
        """Every card source: the bundled cards first, then the folders added with :meth:`add_source`."""
        out = []
        for row in self._query("SELECT id, kind, path, label FROM sources ORDER BY id"):
            root = self._root(row["kind"], row["path"])
            out.append(Source(row["id"], row["kind"], row["label"], root))
        return out

    def add_source(self, path: str | Path) -> Source:
        """Remember a folder of cards as a source (indexed at the next sync); ``UsageError`` if not a folder."""
        root = Path(path).expanduser().resolve()
        if not root.is_dir():
            raise UsageError(f"{path}: not a directory; give a folder of cards (e.g. a checkout's mshub_res/assets)")
        return self._add_source("user", str(root), root)

    def add_remote_source(self) -> Source:
        """The folder of cards fetched from hubs (``settings.remote_cards``), as a source; its cards carry their
        origin (``hub-origin.json``) and are found whatever ``HUB_HOME`` is."""
        root = self.settings.remote_cards
        root.mkdir(parents=True, exist_ok=True)
        return self._add_source(REMOTE, REMOTE, root)

    def _add_source(self, kind: str, label: str, root: Path) -> Source:
        if self.read_only:
            row = self.conn.execute("SELECT id FROM sources WHERE label = ?", [label]).fetchone()
            if row is not None:  # already there: nothing to write
                return Source(row[0], kind, label, root)
            self._writing(f"adding {root} as a source")
        with self.conn:
            self.conn.execute("INSERT OR IGNORE INTO sources (kind, path, label, added_at) VALUES (?, ?, ?, ?)",
                            [kind, None if kind == REMOTE else str(root), label, _now()])
        row = self.conn.execute("SELECT id FROM sources WHERE label = ?", [label]).fetchone()
        return Source(row[0], kind, label, root)

    def remove_source(self, path: str | Path) -> builtins.list[str]:
        """Forget a folder added with :meth:`add_source`, and every card indexed from it; the files stay.

        Returns the cards removed; ``UsageError`` when ``path`` is no source (the bundled cards cannot go).
        """
        label = str(Path(path).expanduser().resolve())
        row = self.conn.execute("SELECT id, kind FROM sources WHERE label = ? OR label = ?", [label, str(path)]
                                ).fetchone()
        if row is None or row[1] == BUNDLED:
            known = [s.label for s in self.sources() if s.kind != BUNDLED]
            raise UsageError(f"{path} is not a source of {self.path}; sources: {', '.join(known) or 'none'}")
        self._writing(f"removing the source {path}")
        cards = self.conn.execute("SELECT id, relpath FROM cards WHERE source_id = ?", [row[0]]).fetchall()
        with self.conn:
            for card_id, _ in cards:
                self._delete_card(card_id)
            self.conn.execute("DELETE FROM sources WHERE id = ?", [row[0]])
        return [f"{label}:{rel}" for _, rel in cards]

    # sync ---------------------------------------------------------------------------------------

    def sync(self, *, force: bool = False, relocate: dict[str, Path] | None = None,
             meta: dict[str, str] | None = None) -> SyncReport:
        """Bring the index in line with every source; re-analyze only cards whose content changed.

        ``relocate`` points sources (by label) at new folders and ``meta`` sets facts about the index, both in
        the transaction that indexes the cards: a failed or killed sync leaves the previous state whole.
        """
        report = SyncReport()
        version = str(ANALYZER_VERSION)
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'analyzer'").fetchone()
        stale = row is None or row[0] != version
        force = force or stale
        moved = relocate or {}
        sources = [replace(src, root=moved[src.label]) if src.label in moved else src for src in self.sources()]
        report.missing = [src.label for src in sources if src.kind != BUNDLED and not src.root.is_dir()]
        plans = [(src, *self._plan(src, force)) for src in sources if src.label not in report.missing]
        report.unchanged = sum(same for *_, same in plans)
        report.removed = [f"{src.label}:{rel}" for src, _, _, removed, _ in plans for rel in removed]
        work = [(src, rel, st, digest) for src, todo, _, _, _ in plans for rel, st, digest in todo]
        touched = [(src, rel, st) for src, _, stat_only, _, _ in plans for rel, st in stat_only]
        if not (work or touched or report.removed or stale or moved or meta):
            self._synced = True
            return report
        self._writing("indexing the cards that changed")
        # Analyze outside the transaction: the write lock is held only while rows change.
        from registry.card.analyze import (
            analyze_file,  # the parser loads only when a card changed (start-up of every command)
        )

        analyzed = [(src, rel, st, digest, with_origin(analyze_file(src.root / rel), src.kind == REMOTE))
                    for src, rel, st, digest in work]
        existing = {(r["source_id"], r["relpath"]): r["id"]
                    for r in self._query("SELECT id, source_id, relpath FROM cards")}
        with self.conn:
            for src, rel, st in touched:  # same bytes, new mtime: remember the stat, nothing to re-index
                self.conn.execute("UPDATE cards SET mtime_ns = ?, size = ? WHERE source_id = ? AND relpath = ?",
                                [st.st_mtime_ns, st.st_size, src.id, rel])
            for src, _, _, removed, _ in plans:
                for rel in removed:
                    self._delete_card(existing[(src.id, rel)])
            for src, rel, st, digest, result in analyzed:
                card_id = existing.get((src.id, rel))
                (report.updated if card_id else report.added).append(f"{src.label}:{rel}")
                self._store(src, rel, st, digest, result, card_id)
            for label, root in moved.items():
                self.conn.execute("UPDATE sources SET path = ? WHERE label = ?", [str(root), label])
            for key, value in {**(meta or {}), "analyzer": version}.items():
                self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])
        self._synced = True
        return report

    def set_catalog(self, root: Path, about: dict[str, Any]) -> SyncReport:
        """Make ``root`` the MindSpore Hub catalogue's folder and index it, ``about`` (where it came from, when)
        kept with it; the switch and the index are one transaction."""
        self._add_source(CATALOG, CATALOG, root)
        return self.sync(relocate={CATALOG: root}, meta={CATALOG: json.dumps(about)})

    def catalog(self) -> dict[str, Any] | None:
        """What ``set_catalog`` kept about the catalogue (its URL, digest, date, cards), or None without one."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", [CATALOG]).fetchone()
        return dict(json.loads(row[0])) if row else None

    @staticmethod
    def _files(root: Path) -> Iterator[tuple[str, os.stat_result]]:
        if root.is_dir():
            for rel, entry in walk(root):
                yield rel, entry.stat()

    def _plan(
        self, src: Source, force: bool
    ) -> tuple[list[tuple[str, os.stat_result, str]], list[tuple[str, os.stat_result]], list[str], int]:
        known = {r[0]: (r[1], r[2], r[3]) for r in self.conn.execute(
            "SELECT relpath, mtime_ns, size, content_hash FROM cards WHERE source_id = ?", [src.id])}
        todo, touched, same = [], [], 0
        seen = set()
        # The bundled cards are few and their mtimes change with every checkout: compare content only,
        # so a fresh clone's committed registry.db is found up to date without a write.
        by_stat = src.kind != BUNDLED
        for rel, st in self._files(src.root):
            seen.add(rel)
            old = known.get(rel)
            if old and not force and by_stat and (old[0], old[1]) == (st.st_mtime_ns, st.st_size):
                same += 1
                continue
            digest = hashlib.sha256((src.root / rel).read_bytes()).hexdigest()
            if old and not force and old[2] == digest:
                if by_stat:
                    touched.append((rel, st))
                same += 1
            else:
                todo.append((rel, st, digest))
        removed = sorted(set(known) - seen)
        return todo, touched, removed, same

    def _delete_card(self, card_id: int) -> None:
        self._delete_model(card_id)
        self.conn.execute("DELETE FROM cards WHERE id = ?", [card_id])

    def _delete_model(self, model_id: int) -> None:
        for table in ("assets", "metrics", "variants"):
            self.conn.execute(f"DELETE FROM {table} WHERE model_id = ?", [model_id])
        self.conn.execute("DELETE FROM models WHERE id = ?", [model_id])

    def _insert(self, table: str, rows: builtins.list[dict[str, Any]], *, replace: bool = False) -> int | None:
        """Plain ``executemany`` (sqlite-utils' insert re-reads the schema per call: most of a big index's time)."""
        if not rows:
            return None
        cols = list(rows[0])
        sql = (f"INSERT {'OR REPLACE ' if replace else ''}INTO {table} ({', '.join(cols)}) "
               f"VALUES ({', '.join('?' * len(cols))})")
        if len(rows) == 1:
            return self.conn.execute(sql, [rows[0][c] for c in cols]).lastrowid
        self.conn.executemany(sql, [[r[c] for c in cols] for r in rows])
        return None

    def _store(self, src: Source, rel: str, st: os.stat_result, digest: str, result: CardResult,
               card_id: int | None) -> None:
        rec = result.record
        status = result.status
        row: dict[str, Any] = {
            "source_id": src.id, "relpath": rel, "content_hash": digest, "mtime_ns": st.st_mtime_ns,
            "size": st.st_size, "dialect": result.dialect.value if result.dialect else None,
            "name": rec.name if rec else result.name_hint or Path(rel).stem, "status": status, "errors": result.errors,
            "warnings": result.warnings, "diagnostics": json.dumps([d.as_dict() for d in result.diagnostics]),
            "record": rec.model_dump_json(exclude={"card_path"}) if rec else None, "indexed_at": _now(),
        }
        if card_id is not None:
            self._delete_model(card_id)
            row["id"] = card_id
        new_id = self._insert("cards", [row], replace=True)
        if rec is not None and new_id is not None:
            self._store_model(new_id, rec)

    def _store_model(self, mid: int, rec: ModelRecord) -> None:
        for table, rows in model_rows(mid, rec).items():
            self._insert(table, rows)

    def rebuild(self) -> SyncReport:
        """Re-analyze every card of every source (to repair the index)."""
        return self.sync(force=True)

    def _auto(self) -> None:
        if self.auto_sync and not self._synced and not self.read_only:  # read-only: the index as it was left
            self.sync()

    # queries ------------------------------------------------------------------------------------

    _LISTING_SQL = """
        SELECT m.id, m.name, m.uid, m.dialect, m.architecture, m.framework, m.datasets, m.top1, m.top1_benchmark,
               m.mindspore_version, c.status, s.label AS source, c.relpath, s.kind, s.path AS source_path {extra}
        FROM models m JOIN cards c ON c.id = m.id JOIN sources s ON s.id = c.source_id {join}
    """

    def _listing(self, row: dict[str, Any]) -> Listing:
        root = self._root(row["kind"], row["source_path"])
        return Listing(
            id=row["id"], name=row["name"], uid=row["uid"], dialect=row["dialect"], architecture=row["architecture"],
            framework=row["framework"], datasets=json.loads(row["datasets"]), top1=row["top1"],
            top1_benchmark=row["top1_benchmark"],
            mindspore_version=row["mindspore_version"], status=row["status"], source=row["source"],
            path=str(root / row["relpath"]), score=row.get("score"), matched=matched(row), tier=row.get("tier"),
        )

    def list(self, *, backbone: str | None = None, dataset: str | None = None, framework: str | None = None,
             source: str | None = None, min_top1: float | None = None) -> list[Listing]:
        """Models matching every filter given (case-insensitive), by name, newest MindSpore first.

        ``source`` is a dialect (``mindspore-hub``, ``huggingface``), ``bundled``, or an indexed folder;
        ``min_top1`` is in percent, by the rule of ``registry.record.top1_percent``, and compares like with
        like: the top-1 must have been measured on ``dataset`` when one is given, else on ImageNet-1k (the
        benchmark a bare "top-1" means), so a 99.7% on cats-vs-dogs does not pass ``min_top1=83``.
        """
        self._auto()
        where: builtins.list[str] = []
        args: builtins.list[Any] = []
        if backbone:
            where.append("lower(m.architecture) = lower(?)")
            args.append(backbone)
        if dataset:
            where.append("EXISTS (SELECT 1 FROM json_each(m.datasets) WHERE lower(json_each.value) = lower(?))")
            args.append(dataset)
        if framework:
            where.append("lower(m.framework) = lower(?)")
            args.append(framework)
        if source:
            where.append("(m.dialect = ? OR s.label = ? OR s.kind = ?)")
            args += [source, str(Path(source).expanduser().resolve()) if os.sep in source else source, source]
        if min_top1 is not None:
            where.append("m.top1 >= ? AND m.top1_benchmark = ?")
            args += [min_top1, benchmark_key(dataset) if dataset else IMAGENET_1K]
        sql = self._LISTING_SQL.format(extra="", join="")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY m.name, m.mindspore_version DESC, m.id"
        return [self._listing(r) for r in self._query(sql, args)]

    def names(self, prefix: str = "", *, limit: int = 200) -> builtins.list[str]:
        """Distinct model names and uids (``hf:``-prefixed for Hugging Face repos) starting with ``prefix``: what
        shell completion offers."""
        self._auto()
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        hub_id = "CASE WHEN dialect = 'huggingface' THEN 'hf:' || uid ELSE uid END"
        rows = self._query(f"""
            SELECT name AS n FROM models WHERE name LIKE ? ESCAPE '\\'
            UNION SELECT {hub_id} FROM models WHERE uid IS NOT NULL AND {hub_id} LIKE ? ESCAPE '\\'
            ORDER BY 1 LIMIT ?""", [pattern, pattern, limit])
        return [r["n"] for r in rows]

    def search(self, text: str, *, limit: int = 20) -> builtins.list[Listing]:
        """Full-text search over name, summary and body, best first.

        A model whose name is the text itself comes first (``convnext tiny`` and ``convnext-tiny`` both name
        ``convnext_tiny``), then names that start with it, then the rest by relevance (bm25, where a match in
        the name weighs most). Each word matches as itself or as a prefix; ``UsageError`` when ``text`` has
        no word. A result not found by its name says why it matched (``Listing.matched``).
        """
        self._auto()
        found = words(text)
        sql = self._LISTING_SQL.format(extra=", bm25(models_fts, 10.0, 3.0, 1.0) AS score, " + RANKED,
                                       join="JOIN models_fts ON models_fts.rowid = m.id",
                                       ) + " WHERE models_fts MATCH ? ORDER BY tier, score, m.name LIMIT ?"
        return [self._listing(r) for r in self._query(sql, [found.key, found.prefix, found.match, limit])]

    def record(self, model_id: int) -> ModelRecord:
        """The stored record of a model, with ``card_path`` where its card is on this machine."""
        row = self.conn.execute(
            "SELECT c.record, c.relpath, s.kind, s.path FROM cards c JOIN sources s ON s.id = c.source_id "
            "WHERE c.id = ?", [model_id]).fetchone()
        rec = ModelRecord.model_validate_json(row[0])
        return rec.model_copy(update={"card_path": str(self._root(row[2], row[3]) / row[1])})

    def cards(self, *, relpath: str | None = None) -> builtins.list[dict[str, Any]]:
        """Indexed card rows (status, diagnostics, record JSON, ...), every one or those at ``relpath``."""
        sql = ("SELECT c.*, s.label AS source, s.kind, s.path AS source_path FROM cards c "
               "JOIN sources s ON s.id = c.source_id")
        return list(self._query(sql + " WHERE c.relpath = ?", [relpath]) if relpath is not None
                    else self._query(sql))

    # resolving names ----------------------------------------------------------------------------

    def assets_at(self, url_path: str) -> builtins.list[tuple[ModelRecord, int]]:
        """The cards whose asset URL has exactly this path (``/toolkits/…``), with the asset's index: what a
        mirror serves for that path, whichever host the card names."""
        self._auto()
        escaped = url_path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._query("""
            SELECT c.record, a.idx, a.url FROM assets a JOIN cards c ON c.id = a.model_id
            WHERE a.url LIKE ? ESCAPE '\\' AND c.record IS NOT NULL ORDER BY c.id""", ["%" + escaped])
        from urllib.parse import urlsplit

        return [(ModelRecord.model_validate_json(r["record"]), int(r["idx"])) for r in rows
                if urlsplit(r["url"]).path == url_path]

    def resolve(self, spec: str, *, mindspore_version: Any = DETECT) -> Resolution:
        """The card ``spec`` names: a name, ``name@version``, a MindSpore Hub uid, or ``hf:org/name``.

        Args:
            spec: what the user typed.
            mindspore_version: the MindSpore to choose a card for among several; by default the installed one.

        Returns:
            The chosen card's record, lint status and why it won (``registry.store.resolve.Resolution``).

        Raises:
            UnknownModelError: no card answers to ``spec``; ``suggestions`` holds the nearest names.
            InvalidCardError: the name is a card's whose errors leave no usable record.
        """
        self._auto()
        query = parse_spec(spec)
        rows = pinned(self._candidates(query.kind, query.text), query, spec)
        if not rows:
            self._raise_if_broken(query.text)
            pool = self._distinct("uid") if query.kind != "name" else self._distinct("name")
            raise UnknownModelError(spec, suggest(query.text, pool))
        chosen, reason = choose(rows, mindspore_version)
        status, diagnostics = self.conn.execute("SELECT status, diagnostics FROM cards WHERE id = ?",
                                                [chosen.id]).fetchone()
        return Resolution(spec, self.record(chosen.id), chosen, status, json.loads(diagnostics), rows, reason)

    def _candidates(self, kind: str, text: str) -> builtins.list[Candidate]:
        column = {"name": "m.name = ?", "uid": "m.uid = ?", "hf": "m.uid = ? AND m.dialect = 'huggingface'"}[kind]
        sql = ("SELECT m.id, m.name, m.uid, m.dialect, m.mindspore_version, m.version, m.updated, s.label, s.kind, "
               "m.revision, m.refs FROM models m JOIN cards c ON c.id = m.id JOIN sources s ON s.id = c.source_id "
               "WHERE " + column)
        return [Candidate(id=r[0], name=r[1], uid=r[2], dialect=r[3], mindspore_version=r[4], version=r[5],
                          updated=r[6], source=r[7], source_kind=r[8], revision=r[9], refs=tuple(json.loads(r[10])))
                for r in self.conn.execute(sql, [text])]

    def _raise_if_broken(self, text: str) -> None:
        """``InvalidCardError`` when ``text`` names a card that was indexed with errors and no record."""
        key = name_key(text)
        for row in self._query("SELECT c.name, c.relpath, c.diagnostics, s.kind, s.path FROM cards c "
                               "JOIN sources s ON s.id = c.source_id WHERE c.record IS NULL"):
            if name_key(row["name"]) == key:
                diags = json.loads(row["diagnostics"])
                errors = [d["message"] for d in diags if d["severity"] == "error"]
                raise InvalidCardError(text, str(self._root(row["kind"], row["path"]) / row["relpath"]), errors, diags)

    def _distinct(self, column: str) -> builtins.list[str]:
        return [r[0] for r in self.conn.execute(f"SELECT DISTINCT {column} FROM models WHERE {column} IS NOT NULL")]

    def _root(self, kind: str, path: str | None) -> Path:
        """Where a source's cards are here: the bundled ones move with the package, the fetched with the home."""
        if kind == BUNDLED:
            return config.bundled_cards()
        return self.settings.remote_cards if kind == REMOTE else Path(str(path))
