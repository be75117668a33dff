"""psycopg 3 against a PostgreSQL-compatible server: parameterised queries, executemany,
COPY in and out, server-side (named) cursors, transactions and errors, the catalog queries
psycopg makes itself, arrays and ParameterStatus. Prints one line per
check and exits non-zero if any fails.

Usage: python3 compat/psycopg_check.py "host=127.0.0.1 port=5432 user=cairn dbname=postgres"
"""

import datetime
import decimal
import sys
import uuid

import psycopg
from psycopg import errors

failures = 0


def check(name, fn):
    global failures
    try:
        fn()
        print(f"ok    {name}")
    except Exception as e:  # noqa: BLE001 - every failure is reported the same way
        failures += 1
        print(f"FAIL  {name}: {type(e).__name__}: {e}")


conninfo = sys.argv[1]
conn = psycopg.connect(conninfo, autocommit=True)
conn.execute("DROP TABLE IF EXISTS items")
conn.execute(
    "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), "
    "seen timestamptz, tag uuid, data jsonb)"
)


def parameterised():
    now = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    tag = uuid.UUID("12345678-1234-5678-1234-567812345678")
    conn.execute(
        "INSERT INTO items VALUES (%s, %s, %s, %s, %s, %s)",
        (1, "one", decimal.Decimal("9.99"), now, tag, psycopg.types.json.Jsonb({"a": [1, 2]})),
    )
    row = conn.execute("SELECT id, name, price, seen, tag, data FROM items WHERE id = %s", (1,)).fetchone()
    assert row == (1, "one", decimal.Decimal("9.99"), now, tag, {"a": [1, 2]}), row
    # Binary results too.
    with conn.cursor(binary=True) as cur:
        cur.execute("SELECT id, name, price, seen FROM items WHERE name = %s", ("one",))
        assert cur.fetchone() == (1, "one", decimal.Decimal("9.99"), now)


def executemany():
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO items (id, name, price) VALUES (%s, %s, %s)",
            [(i, f"item {i}", decimal.Decimal(i) / 4) for i in range(2, 102)],
        )
    count = conn.execute("SELECT count(*), sum(price) FROM items").fetchone()
    assert count == (101, decimal.Decimal("1297.49")), count


def copy_in_and_out():
    with conn.cursor() as cur:
        with cur.copy("COPY items (id, name) FROM STDIN") as copy:
            for i in range(1000, 1500):
                copy.write_row((i, f"copied {i}"))
        assert cur.rowcount == 500, cur.rowcount
        lines = []
        with cur.copy("COPY (SELECT id, name FROM items WHERE id >= 1000 ORDER BY id) TO STDOUT") as copy:
            for row in copy.rows():
                lines.append(row)
        assert len(lines) == 500 and lines[0] == ("1000", "copied 1000"), lines[:2]


def server_side_cursor():
    with psycopg.connect(conninfo) as tx:  # not autocommit: inside a transaction
        with tx.cursor(name="walk") as cur:
            cur.itersize = 64
            cur.execute("SELECT id FROM items WHERE id >= %s ORDER BY id", (1000,))
            ids = [r[0] for r in cur]
            assert ids == list(range(1000, 1500)), (len(ids), ids[:3])


def transactions_and_errors():
    with psycopg.connect(conninfo) as tx:
        tx.execute("INSERT INTO items (id, name) VALUES (5000, 'rolled back')")
        tx.rollback()
        try:
            tx.execute("INSERT INTO items (id, name) VALUES (1, 'duplicate')")
            raise AssertionError("no error")
        except errors.UniqueViolation as e:
            assert e.sqlstate == "23505"
        tx.rollback()
        n = tx.execute("SELECT count(*) FROM items WHERE id = 5000").fetchone()[0]
        assert n == 0, n
    try:
        conn.execute("SELECT * FROM nosuch")
        raise AssertionError("no error")
    except errors.UndefinedTable as e:
        assert "nosuch" in str(e)


def prepared_statements():
    for i in range(10):
        row = conn.execute("SELECT name FROM items WHERE id = %s", (2 + i,), prepare=True).fetchone()
        assert row == (f"item {2 + i}",), row


def catalog_and_parameters():
    # psycopg's own catalog query (pg_type, to_regtype, regtype).
    info = psycopg.types.TypeInfo.fetch(conn, "integer")
    assert (info.name, info.oid, info.array_oid) == ("int4", 23, 1007), info
    # Lists travel as arrays, both ways.
    row = conn.execute("SELECT %s::int[], array_agg(id ORDER BY id) FROM items WHERE id < 4", ([3, 1],)).fetchone()
    assert row == ([3, 1], [1, 2, 3]), row
    # A SET of a reported parameter reaches the client as ParameterStatus.
    conn.execute("SET application_name = 'psycopg check'")
    assert conn.info.parameter_status("application_name") == "psycopg check"
    conn.execute("RESET application_name")
    assert conn.info.parameter_status("application_name") == ""
    # information_schema, as ORMs read it.
    columns = conn.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = 'items' ORDER BY ordinal_position LIMIT 3"
    ).fetchall()
    assert columns == [("id", "integer", "NO"), ("name", "text", "NO"), ("price", "numeric", "YES")], columns


CHECKS = 7
check("parameterised queries, text and binary", parameterised)
check("executemany", executemany)
check("COPY FROM STDIN and TO STDOUT", copy_in_and_out)
check("server-side cursor", server_side_cursor)
check("transactions and errors", transactions_and_errors)
check("prepared statements", prepared_statements)
check("catalog, arrays and parameter status", catalog_and_parameters)
print(f"{CHECKS - failures} of {CHECKS} checks passed")
sys.exit(1 if failures else 0)
