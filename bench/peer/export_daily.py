"""Writes the shared perf harness's dataset (bench/peer/load-synthetic.sql, loaded into its own
database) as upstream daily-list files (`daily_papers_date-YYYY-MM-DD.json`, the /api/daily_papers
format), so papergraph loads it through its own import path: same papers, same ids, titles,
abstracts, dates, upvotes, comments, GitHub links and author lists as PostGraphile's harness.

python3 export_daily.py SOURCE_DATABASE_URL OUT_DIR
"""
import json
import subprocess
import sys
from pathlib import Path

url, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
sql = """
SELECT p.submitted_on, json_build_object(
  'id', p.id, 'title', p.title, 'summary', p.summary,
  'published_at', to_char(p.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'upvotes', p.upvotes, 'num_comments', p.num_comments,
  'github_repo', p.github_repo, 'github_stars', p.github_stars,
  'authors', (SELECT json_agg(a.name ORDER BY pa.position)
              FROM paper_authors pa JOIN authors a ON a.id = pa.author_id
              WHERE pa.paper_id = p.id))
FROM papers p ORDER BY p.submitted_on, p.upvotes DESC, p.id
"""
proc = subprocess.Popen(["psql", url, "-AtqF", "\t", "-c", sql], stdout=subprocess.PIPE, text=True)
days, n = {}, 0
for line in proc.stdout:
    day, doc = line.rstrip("\n").split("\t", 1)
    days.setdefault(day, []).append(json.loads(doc))
if proc.wait() != 0:
    sys.exit("psql failed")
for day, rows in days.items():
    items = []
    for i, r in enumerate(rows):
        at = f"{day}T{6 + i % 12:02}:{i % 60:02}:00.000Z"
        authors = [
            {"_id": f"{(n + i) * 16 + k:024x}", "name": name, "hidden": False}
            for k, name in enumerate(r["authors"] or [])
        ]
        paper = {
            "id": r["id"], "authors": authors, "publishedAt": r["published_at"],
            "submittedOnDailyAt": at, "title": r["title"], "summary": r["summary"],
            "upvotes": r["upvotes"], "githubRepo": r["github_repo"],
            "githubStars": r["github_stars"],
        }
        items.append({
            "paper": paper, "publishedAt": at, "title": r["title"], "summary": r["summary"],
            "numComments": r["num_comments"], "isAuthorParticipating": False,
        })
    n += len(rows)
    (out / f"daily_papers_date-{day}.json").write_text(json.dumps(items))
print(f"wrote {n} papers over {len(days)} days to {out}", file=sys.stderr)
