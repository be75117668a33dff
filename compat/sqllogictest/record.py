#!/usr/bin/env python3
"""Records the expected results of cairn's own sqllogictest files from PostgreSQL.

    compat/sqllogictest/record.py HOST PORT FILE.test...

Runs each file's records in order against a fresh database of the PostgreSQL server at
HOST:PORT (user postgres, through psql) and rewrites every `query` record's results with
PostgreSQL's answer, formatted as the runner formats cairn's (I as integers, R as %.3f, T as
text, NULL, (empty)), sorted as the record says. A `statement ok` that fails there, or a
`statement error` that succeeds, stops the recording: the file would not be PostgreSQL's
behaviour. The files under tests/sql were recorded this way against PostgreSQL 15.
"""
import subprocess
import sys


def psql(host, port, db, sql):
    return subprocess.run(
        ["psql", "-h", host, "-p", port, "-U", "postgres", "-X", "-q", "-A", "-t",
         "-F", "\t", "-P", "null=NULL", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
        capture_output=True, text=True)


def fmt(value, ty):
    if value == "NULL":
        return "NULL"
    if ty == "R":
        return "%.3f" % float(value)
    if ty == "I":
        if value in ("t", "f"):
            return "1" if value == "t" else "0"
        try:
            return str(int(value))
        except ValueError:
            return str(int(float(value)))
    if value == "":
        return "(empty)"
    return "".join(c if " " <= c <= "~" else "@" for c in value)


def record(host, port, path):
    db = "slt_record"
    subprocess.run(["dropdb", "-h", host, "-p", port, "-U", "postgres", "--if-exists", db], check=True)
    subprocess.run(["createdb", "-h", host, "-p", port, "-U", "postgres", "-T", "template0", "-E", "UTF8",
                    "--locale=C.UTF-8", db], check=True)
    blocks = open(path).read().split("\n\n")
    out = []
    for block in blocks:
        lines = block.strip("\n").split("\n")
        head = [l for l in lines if not l.startswith("#")]
        if not head or not (head[0].startswith("statement") or head[0].startswith("query")):
            out.append(block.strip("\n"))
            continue
        header = head[0].split()
        if header[0] == "statement":
            sql = "\n".join(head[1:])
            r = psql(host, port, db, sql)
            ok = r.returncode == 0
            if ok != (header[1] == "ok"):
                sys.exit(f"{path}: PostgreSQL {'accepted' if ok else 'refused'}:\n{sql}\n{r.stderr}")
            out.append(block.strip("\n"))
            continue
        types, sort = header[1], header[2] if len(header) > 2 else "nosort"
        split = head.index("----") if "----" in head else len(head)
        sql = "\n".join(head[1:split])
        r = psql(host, port, db, sql)
        if r.returncode != 0:
            sys.exit(f"{path}: PostgreSQL refused the query:\n{sql}\n{r.stderr}")
        rows = [line.split("\t") for line in r.stdout.split("\n") if line != ""]
        rows = [[fmt(v, t) for v, t in zip(row, types)] for row in rows]
        if sort == "rowsort":
            rows.sort()
        values = [v for row in rows for v in row]
        if sort == "valuesort":
            values.sort()
        comments = [l for l in lines if l.startswith("#")]
        out.append("\n".join(comments + head[:split] + ["----"] + values))
    open(path, "w").write("\n\n".join(out) + "\n")


if __name__ == "__main__":
    host, port, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    for f in files:
        record(host, port, f)
        print(f"recorded {f}")
