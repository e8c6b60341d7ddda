"""Checks that papergraph (PostgreSQL and SQLite) and PostGraphile answer the daily list with the
same 20 papers, fields and author lists; saves papergraph's response bytes for the static server.

python3 compare.py DATE KEYWORD PAPERGRAPH_PORT POSTGRAPHILE_PORT PAPERGRAPH_SQLITE_PORT OUT_FILE
"""
import json
import sys
import urllib.request
from datetime import datetime
from pathlib import Path

date, keyword, pg_port, peer_port, sqlite_port, out = sys.argv[1:7]
here = Path(__file__).resolve().parent


def post(port, query, variables):
    body = json.dumps({"query": query, "variables": variables}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=body,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    raw = urllib.request.urlopen(req).read()
    doc = json.loads(raw)
    if doc.get("errors"):
        sys.exit(f"errors from :{port}: {doc['errors']}")
    return raw, doc["data"]


def instant(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def ours(port):
    raw, data = post(port, (here.parent / "daily-list.graphql").read_text(), {"d": date})
    rows = [
        (n["arxivId"], n["title"], n["abstract"], instant(n["publishedAt"]), n["dailyDate"],
         n["upvotes"], n["numComments"], n["githubRepo"], n["githubStars"],
         [a["name"] for a in n["authors"]])
        for n in data["papers"]["nodes"]
    ]
    return raw, rows


raw, mine = ours(pg_port)
_, peer = post(peer_port, (here / "daily-list.postgraphile.graphql").read_text(), {"date": date})
theirs = [
    (n["arxivId"], n["title"], n["abstract"], instant(n["publishedAt"]), n["dailyDate"],
     n["upvotes"], n["numComments"], n["githubRepo"], n["githubStars"],
     [a["authorByAuthorId"]["name"] for a in n["paperAuthorsByPaperId"]["nodes"]])
    for n in peer["allPapers"]["nodes"]
]
_, lite = ours(sqlite_port)
if len(mine) != 20:
    sys.exit(f"papergraph answered {len(mine)} papers for {date}, not 20: pick a fuller day (BENCH_DATE)")
for name, other in (("PostGraphile", theirs), ("papergraph on SQLite", lite)):
    if other != mine:
        for i, (a, b) in enumerate(zip(mine, other)):
            if a != b:
                sys.exit(f"{name} differs at paper {i}:\n  papergraph: {a[:3]}...\n  {name}: {b[:3]}...")
        sys.exit(f"{name} answered {len(other)} papers, papergraph {len(mine)}")
Path(out).write_bytes(raw)
authors = sum(len(r[-1]) for r in mine)
print(f"SAME date={date} papers={len(mine)} authors={authors} bytes={len(raw)}: papergraph (PostgreSQL, SQLite) and PostGraphile agree on ids, fields and author lists")

_, s = post(pg_port, (here / "search.papergraph.graphql").read_text(), {"q": keyword})
_, t = post(peer_port, (here / "search.postgraphile.graphql").read_text(), {"keyword": keyword})
print(f"SEARCH keyword={keyword!r} papergraph_total={s['searchPapers']['totalCount']} "
      f"postgraphile_total={t['peerSearchPapers']['totalCount']} (papergraph ranks by bm25 with "
      f"highlights; PostGraphile's function orders by upvotes)")
