"""Prints a pgbench script of the statements papergraph sends for one daily-list request (captured
with log_statement=all): the page (the 15 listed columns of `papers`) and the page's author
slots (one statement for the 20 papers, without their author entities). The 20 ids are looked
up once and written as constants, where papergraph binds them; `:day` is pgbench's -D variable.

python3 floor_sql.py DATABASE_URL DATE > daily-list.pgbench.sql
"""
import subprocess
import sys

url, day = sys.argv[1], sys.argv[2]
ids = subprocess.run(
    ["psql", url, "-Atc",
     f"SELECT id FROM papers WHERE daily_date = '{day}' ORDER BY upvotes DESC, id DESC LIMIT 20"],
    check=True, capture_output=True, text=True,
).stdout.split()
# The daily list asks only for fields that the listed columns answer, so the page reads those
# (`PaperColumns::Listed`, `papers::LISTED` in src/repo/papers.rs, in that order).
cols = ["id", "arxiv_id", "title", "abstract", "daily_date", "submitted_at", "published_at",
        "upvotes", "num_comments", "trending_score", "github_repo", "github_stars", "author_count",
        "organization_id", "submitted_by_id"]
print("-- papergraph's statements for one daily-list request (bench/peer/floor_sql.py)")
print("SELECT " + ", ".join(f'"papers"."{c}"' for c in cols) +
      ' FROM "papers" WHERE "papers"."daily_date" = :day::date'
      ' ORDER BY "papers"."upvotes" DESC, "papers"."id" DESC LIMIT 21;')
# The daily list shows the names printed on the papers (`authors { name }`), so the slots are read
# without their author entities (`SlotRead::Own`: no join with `authors`).
print('SELECT "paper_authors"."paper_id", "paper_authors"."position", "paper_authors"."author_id", '
      '"paper_authors"."name", "paper_authors"."hidden", "paper_authors"."hf_user_id", '
      '"paper_authors"."claim_status" FROM "paper_authors" WHERE "paper_authors"."paper_id" IN ('
      + ", ".join(ids) + ') ORDER BY "paper_authors"."paper_id" ASC, "paper_authors"."position" ASC;')
