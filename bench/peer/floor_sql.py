"""Prints a pgbench script of the statements papergraph sends for one daily-list request (captured
with log_statement=all): the page (every column of `papers`, sea-orm's entity) and the page's
author slots (one statement for the 20 papers). The 20 ids are looked up once and written as
constants, where papergraph binds them; `:day` is pgbench's -D variable.

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
cols = ("id arxiv_id title abstract daily_date submitted_at published_at upvotes num_comments "
        "trending_score github_repo github_repo_added_by github_stars project_page ai_summary "
        "ai_summary_model ai_keywords thumbnail_url media_urls discussion_id withdrawn_at "
        "is_author_participating author_count num_linked_models num_linked_datasets "
        "num_linked_spaces organization_id submitted_by_id created_at updated_at").split()
print("-- papergraph's statements for one daily-list request (bench/peer/floor_sql.py)")
print("SELECT " + ", ".join(f'"papers"."{c}"' for c in cols) +
      ' FROM "papers" WHERE "papers"."daily_date" = :day::date'
      ' ORDER BY "papers"."upvotes" DESC, "papers"."id" DESC LIMIT 21;')
print('SELECT "paper_authors"."paper_id", "paper_authors"."position", "paper_authors"."author_id", '
      '"paper_authors"."name", "paper_authors"."hidden", "paper_authors"."hf_user_id", '
      '"paper_authors"."claim_status", "authors"."name" AS "author_name", '
      '"authors"."paper_count" AS "author_paper_count" FROM "paper_authors" INNER JOIN "authors" '
      'ON "authors"."id" = "paper_authors"."author_id" WHERE "paper_authors"."paper_id" IN ('
      + ", ".join(ids) + ') ORDER BY "paper_authors"."paper_id" ASC, "paper_authors"."position" ASC;')
