"""Bad local input: a database that is locked, read-only or corrupt, a bad seeds file, a rubric with a
mistake. Each ends with one line naming the file (and line or rule), exit 1, and nothing lost."""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml

import hostile_web
from clinicvet.demo import SEEDS_FILE
from conftest import CLINICVET, proxy_env
from scoring.rubric import DEFAULT_PATH, RubricError, load_rubric
from test_seeds import BAD_SEEDS

ROWS: dict[str, tuple] = {}
CLI_BOUND_S = 60
# As root, file permissions do not bind; run the command without the capability that overrides them.
UNPRIVILEGED = (["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
                if os.geteuid() == 0 and shutil.which("setpriv") else [])


def dump(db: Path) -> str:
    """Every row of every table, as SQL: equal dumps mean nothing was lost or changed."""
    conn = sqlite3.connect(db)  # read-write, so that closing it folds the WAL back into the file
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def clinicvet(args: list, unprivileged: bool = False) -> subprocess.CompletedProcess:
    cmd = (UNPRIVILEGED if unprivileged else []) + CLINICVET + [str(a) for a in args]
    return subprocess.run(cmd, env=proxy_env("http://127.0.0.1:9"), capture_output=True, text=True,
                          timeout=CLI_BOUND_S)


def assert_one_line_failure(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 1, result.stderr[-2000:]
    message = result.stderr.strip()
    assert "Traceback" not in message and len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message
    return message


def record(case: str, broken: str, message: str, bound: str = "exit 1") -> None:
    ROWS[case] = (case, broken, f"exit 1: `{message}`; every row unchanged", bound)


@pytest.fixture(scope="module", autouse=True)
def table():
    yield
    if len(ROWS) == EXPECTED_ROWS:
        hostile_web.write_section("faults", "Bad local input (each run against a copy of the scored demo database)",
                                  [ROWS[k] for k in sorted(ROWS)], ("case", "broken", "outcome", "bound"))


@pytest.fixture
def db(demo_db, tmp_path) -> Path:
    """A private copy of the crawled, scored and published demo database."""
    copy = tmp_path / "clinics.db"
    source, target = sqlite3.connect(demo_db), sqlite3.connect(copy)
    source.backup(target)
    target.execute("PRAGMA journal_mode = WAL")
    source.close()
    target.close()  # the last connection: no -wal or -shm file is left beside it
    return copy


@pytest.mark.parametrize("command", ["crawl", "score", "publish"])
def test_locked_database_fails_in_one_line_and_the_holder_keeps_its_write(db, command):
    before = dump(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE sites SET status_reason = 'held by another writer' WHERE rowid = 1")
    try:
        args = [command, "--db", db] + (["--seeds", SEEDS_FILE] if command == "crawl" else [])
        message = assert_one_line_failure(clinicvet(args), str(db), "locked by another process")
        holder.execute("COMMIT")
    finally:
        holder.close()
    after = dump(db)
    assert "held by another writer" in after
    assert after.replace("'held by another writer'", "NULL") == before.replace("'held by another writer'", "NULL")
    record(f"locked database ({command})", "another connection holds a write transaction", message,
           "waits 5 s (LOCK_WAIT_S), then exit 1")


@pytest.mark.parametrize("command", ["crawl", "score", "publish"])
def test_read_only_database_file_fails_in_one_line(db, command):
    before = dump(db)
    for path in db.parent.glob(db.name + "*"):
        path.chmod(0o444)
    try:
        args = [command, "--db", db] + (["--seeds", SEEDS_FILE] if command == "crawl" else [])
        message = assert_one_line_failure(clinicvet(args, unprivileged=True), str(db))
    finally:
        for path in db.parent.glob(db.name + "*"):
            path.chmod(0o644)
    assert dump(db) == before
    record(f"read-only file ({command})", "chmod 444 on the database", message)


@pytest.mark.parametrize("command", ["crawl", "score"])
def test_database_in_read_only_folder_fails_in_one_line(db, command):
    before = dump(db)
    db.parent.chmod(0o555)
    try:
        args = [command, "--db", db] + (["--seeds", SEEDS_FILE] if command == "crawl" else [])
        message = assert_one_line_failure(clinicvet(args, unprivileged=True), str(db))
    finally:
        db.parent.chmod(0o755)
    assert dump(db) == before
    record(f"read-only folder ({command})", "chmod 555 on the database's folder", message)


@pytest.mark.parametrize("command", ["crawl", "score", "publish", "serve"])
def test_corrupt_database_fails_in_one_line_and_is_left_as_it_was(tmp_path, command):
    db = tmp_path / "clinics.db"
    db.write_bytes(os.urandom(64 * 1024))
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    args = [command, "--db", db] + (["--seeds", SEEDS_FILE] if command == "crawl" else [])
    message = assert_one_line_failure(clinicvet(args), str(db), "not a usable SQLite database")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    record(f"corrupt file ({command})", "64 KB of random bytes as the database", message)


BAD_SEEDS_CASES = {
    "missing column": BAD_SEEDS[0][0],
    "non-http scheme": BAD_SEEDS[1][0],
    "malformed URL": BAD_SEEDS[2][0],
    "duplicate site": BAD_SEEDS[3][0],
    "blank lines only": BAD_SEEDS[7][0],
    "not UTF-8": b"name,url\nA,http://www.a.test/\nCl\xe9nica,http://www.b.test/\n",
}


@pytest.mark.parametrize("case", BAD_SEEDS_CASES)
def test_bad_seeds_leave_an_existing_database_untouched(db, tmp_path, case):
    # tests/test_seeds.py checks each message; here the run meets a database already holding data.
    content = BAD_SEEDS_CASES[case]
    seeds = tmp_path / "seeds.csv"
    seeds.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = dump(db)
    result = clinicvet(["crawl", "--seeds", seeds, "--db", db])
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{seeds}:" in result.stderr
    assert dump(db) == before
    ROWS[f"seeds: {case}"] = (f"seeds: {case}", "seeds CSV given to `clinicvet crawl`",
                              f"exit 1: `{result.stderr.strip().splitlines()[0]}`; database unchanged", "exit 1")


RUBRIC_MISTAKES = {
    "unknown key": (lambda d: d["questions"]["screening"]["signals"][2].update(patern="x"),
                    "screening.signals[2]: unknown key 'patern'"),
    "bad regex": (lambda d: d["questions"]["monitoring"]["signals"][1].update(patterns=["(unclosed"]),
                  "monitoring.signals[1].patterns[0]: bad regex"),
}


@pytest.mark.parametrize("case", RUBRIC_MISTAKES)
def test_rubric_mistake_names_file_and_rule(tmp_path, case):
    # `clinicvet score` has no --rubric option yet: the library's loader is the surface to check.
    edit, fragment = RUBRIC_MISTAKES[case]
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "my-rubric.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert str(info.value).startswith(f"my-rubric.yaml: {fragment}")
    ROWS[f"rubric: {case}"] = (f"rubric: {case}", "a rubric YAML with one mistake (load_rubric)",
                               f"RubricError: `{str(info.value).splitlines()[0][:140]}`", "raised at load")


def test_rubric_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "my-rubric.yaml"
    lines = DEFAULT_PATH.read_text(encoding="utf-8").splitlines()
    lines.insert(5, "  broken: [unclosed")
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    message = str(info.value)
    assert message.startswith("my-rubric.yaml: invalid YAML") and "line" in message
    ROWS["rubric: YAML syntax"] = ("rubric: YAML syntax", "an unclosed bracket on line 6 (load_rubric)",
                                   f"RubricError: `{' '.join(message.split())[:140]}`", "raised at load")


EXPECTED_ROWS = 3 + 3 + 2 + 3 + len(BAD_SEEDS_CASES) + len(RUBRIC_MISTAKES) + 1
