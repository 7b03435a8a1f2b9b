"""The service commands as a user runs them: messages and exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "fhir-adapter"


def run(*args: str, db: Path | None = None, env_url: str | None = None) -> subprocess.CompletedProcess[str]:
    url = env_url or f"sqlite:///{db}"
    return subprocess.run(
        [BIN, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "FHIR_ADAPTER_DATABASE_URL": url},
    )


def test_clients_add_list_revoke(tmp_path):
    db = tmp_path / "cli.db"
    added = run("clients", "add", "--org", "north", "--scopes", "system/*.read", "--restricted", db=db)
    assert added.returncode == 0, added.stderr
    lines = added.stdout.strip().splitlines()
    assert lines[-1].startswith("fa_") and "sees restricted records" in lines[0]
    client_id = lines[0].split()[1]
    listed = run("clients", "list", db=db)
    assert client_id in listed.stdout and "active, restricted" in listed.stdout
    assert lines[-1] not in listed.stdout and lines[-1] not in db.read_bytes().decode("latin-1")
    assert run("clients", "revoke", client_id, db=db).returncode == 0
    assert "revoked" in run("clients", "list", db=db).stdout
    again = run("clients", "revoke", client_id, db=db)
    assert again.returncode == 2 and "no active client" in again.stderr


def test_bad_input_is_a_message_and_exit_2(tmp_path):
    db = tmp_path / "cli.db"
    for args, message in (
        (("clients", "add", "--org", "north", "--scopes", "patient/*.read"), "not a system scope"),
        (("clients", "add", "--org", "North Side", "--scopes", "system/*.read"), "organisation id"),
        (("clients", "add", "--org", "north"), "needs --org and --scopes"),
    ):
        result = run(*args, db=db)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    unreachable = run("db", "upgrade", env_url="postgresql://nobody@127.0.0.1:1/none")
    assert unreachable.returncode == 2 and "database is not available" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
    assert run("db", "current", db=db).stdout.startswith("database at revision")
    assert (
        run("db", "prune", "--hours", "1", db=db).stdout == "removed 0 idempotency keys older than 1 hours\n"
    )
