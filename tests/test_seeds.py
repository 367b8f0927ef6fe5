"""Seeds are validated before anything is fetched; every problem names file and line."""
from pathlib import Path

import pytest

from clinicvet.seeds import SeedsError, read_seeds
from conftest import run_cli

BAD_SEEDS = [
    # (file content, expected fragment of the error)
    ("title,url\nA,http://www.a.test/\n", ":1: missing column(s) name"),
    ("name,url\nA,http://www.a.test/\nB,htp://www.b.test/\n", ":3: URL must start with http:// or https://"),
    ("name,url\nA,http://www.a.test/\nB,http://exa mple/\n", ":3: malformed URL"),
    ("name,url\nA,http://www.a.test/\nA again,http://a.test/about\n", ":3: duplicate site a.test (first on line 2)"),
    ("name,url\nA,ftp://www.a.test/\n", ":2: URL must start with http"),
    ("name,url\n,http://www.a.test/\n", ":2: empty name"),
    ("name,url\nA,http://www.a.test/,extra\n", ":2: more fields than the header"),
    ("name,url\n\n\n", "no seeds"),
]


@pytest.mark.parametrize("content,fragment", BAD_SEEDS)
def test_bad_seeds_name_file_and_line(tmp_path, content, fragment):
    path = tmp_path / "seeds.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SeedsError) as info:
        read_seeds(path)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_non_utf8_seeds_file_names_line(tmp_path):
    path = tmp_path / "seeds.csv"
    path.write_bytes(b"name,url\nA,http://www.a.test/\nCl\xe9nica,http://www.b.test/\n")
    with pytest.raises(SeedsError, match=r"seeds.csv:3: not UTF-8"):
        read_seeds(path)


def test_blank_lines_and_optional_columns_are_accepted(tmp_path):
    path = tmp_path / "seeds.csv"
    path.write_text("name,url,city,state\n\nA,HTTP://WWW.A.test,Austin,tx\n\nB,https://b.test/start?x=1,,\n", encoding="utf-8")
    seeds = read_seeds(path)
    assert [(s.domain, s.url, s.city, s.state, s.line) for s in seeds] == [
        ("www.a.test", "http://www.a.test/", "Austin", "TX", 3),
        ("b.test", "https://b.test/start?x=1", "", "", 5),
    ]


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "seeds.csv"
    path.write_text("name,url\nA,nope\nB,http://www.b.test/\nC,http://b.test/\n", encoding="utf-8")
    with pytest.raises(SeedsError) as info:
        read_seeds(path)
    assert len(str(info.value).splitlines()) == 2


@pytest.mark.parametrize("content", [c for c, _ in BAD_SEEDS[:4]])
def test_crawl_with_bad_seeds_exits_1_and_writes_nothing(tmp_path, content):
    seeds = tmp_path / "seeds.csv"
    seeds.write_text(content, encoding="utf-8")
    db = tmp_path / "clinics.db"
    result = run_cli(["crawl", "--seeds", seeds, "--db", db], proxy_url="http://127.0.0.1:9", check=False)
    assert result.returncode == 1
    assert f"{seeds}:" in result.stderr
    assert not db.exists()


def test_bundled_real_seeds_file_is_valid():
    seeds = read_seeds(Path(__file__).resolve().parent.parent / "examples" / "real_seeds.csv")
    assert len(seeds) > 150
    assert all(s.url.startswith(("http://", "https://")) for s in seeds)
