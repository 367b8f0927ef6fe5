"""Pages of a labelled corpus folder (sites/<domain>/...) as page records, for tests and benches."""
from __future__ import annotations

from pathlib import Path

from crawler.extract import extract_page
from scoring.text import Page


def page_url(domain: str, rel: Path) -> str:
    """URL a corpus file is served at: index.html is its folder, x.html stays x.html."""
    parts = list(rel.parts)
    if parts[-1] == "index.html":
        path = "/".join(parts[:-1])
        return f"http://{domain}/" + (path + "/" if path else "")
    return f"http://{domain}/" + "/".join(parts)


def load_corpus_pages(root: str | Path) -> dict[str, list[Page]]:
    """Extract every HTML file under root/sites into Page records, grouped by domain."""
    sites: dict[str, list[Page]] = {}
    for site_dir in sorted(Path(root, "sites").iterdir()):
        if not site_dir.is_dir():
            continue
        pages = []
        for file in sorted(site_dir.rglob("*.html")):
            url = page_url(site_dir.name, file.relative_to(site_dir))
            ex = extract_page(file.read_bytes(), url)
            pages.append(Page(url=url, text=ex.text, title=ex.title, jsonld=ex.jsonld,
                              links=[link["text"] for link in ex.links]))
        sites[site_dir.name] = pages
    return sites
