"""The README's and docs' links to other files of the repository and to their sections lead somewhere."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FENCED = re.compile(r"```.*?```", flags=re.S)


def github_anchors(text):
    """The anchors GitHub gives the headings of a Markdown text: lower case, punctuation dropped, spaces as
    hyphens, a repeated heading numbered (-1, -2...)."""
    seen, anchors = {}, set()
    for heading in re.findall(r"^#{1,6} (.+)$", FENCED.sub("", text), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def test_every_link_to_a_file_or_a_section_of_the_docs_leads_somewhere():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    anchors = {page: github_anchors(page.read_text(encoding="utf-8")) for page in pages}
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", FENCED.sub("", page.read_text(encoding="utf-8"))):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.is_relative_to(ROOT):  # a user's clone has nothing beside it
                broken.append(f"{page.relative_to(ROOT)}: {target} (outside the repository)")
            elif not dest.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and dest in anchors and anchor not in anchors[dest]:
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such section)")
    assert not broken, "\n".join(broken)


def test_anchors_are_made_as_github_makes_them():
    assert github_anchors("# A rebuilt recommender: `benchmarks/serve_reload.py`\n## Notes\n## Notes\n") == {
        "a-rebuilt-recommender-benchmarksserve_reloadpy", "notes", "notes-1"}
