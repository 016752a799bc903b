from __future__ import annotations

from pathlib import Path

import pytest
from helpers import commit_count, git, tree_snapshot

from kuploy_gitops import api, config, layout, tenant_spec
from kuploy_gitops.errors import InvalidInputError, RosterError
from kuploy_gitops.roster import RosterRow, parse_columns, read_roster

CLASSROOM = """identifier,github_username,github_id,name
kim-minji,minji-k,101,Kim Minji
lee-jun,,,Lee Jun
park-s,parks,103,"Park, Seoyeon"
"""

PLAIN = """student_id,github_username,email,name,tier
202112345,hong-gd,hong@konkuk.ac.kr,Hong Gildong,large
202154321,,choi@konkuk.ac.kr,Choi,
"""


def write(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_classroom_roster_is_one_commit(platform: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    outcome = api.onboard_roster(
        platform,
        write(tmp_path, CLASSROOM),
        api.OnboardOptions(student="", course="cs101"),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert outcome.skipped == []
    assert outcome.students == ["kim-minji", "lee-jun", "park-s"]
    assert commit_count(platform) == 2
    assert tenant_spec.list_students(platform) == ["kim-minji", "lee-jun", "park-s"]
    assert seen[-1] == (3, 3)
    lee = tenant_spec.read_spec(platform, "lee-jun")
    assert lee is not None and lee.github == "" and lee.course == "cs101"
    park = tenant_spec.read_spec(platform, "park-s")
    assert park is not None and park.name == "Park, Seoyeon"
    log = git(platform, "log", "-1", "--format=%B")
    assert "onboard 3 student(s) from roster.csv" in log and "- park-s" in log
    assert outcome.result.commit


def test_plain_roster_with_tier_and_bom(platform: Path, tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_bytes(b"\xef\xbb\xbf" + PLAIN.encode())
    api.onboard_roster(platform, path, api.OnboardOptions(student=""))
    hong = tenant_spec.read_spec(platform, "202112345")
    assert hong is not None and hong.tier == "large" and hong.email == "hong@konkuk.ac.kr"
    choi = tenant_spec.read_spec(platform, "202154321")
    assert choi is not None and choi.tier == config.load_config(platform).default_tier


BAD = """identifier,github_username,github_id,name
good-one,gh-one,1,One
Bad_Name,gh-two,2,Two
good-three,gh-one,3,Dup login
good-one,gh-four,4,Dup student
default,gh-five,5,Reserved
too,many,columns,here,x
good-six,gh-six,6,Six
"""


def test_bad_rows_are_all_reported_and_nothing_is_written(platform: Path, tmp_path: Path) -> None:
    before, count = tree_snapshot(platform), commit_count(platform)
    with pytest.raises(RosterError) as info:
        api.onboard_roster(platform, write(tmp_path, BAD), api.OnboardOptions(student=""))
    lines = [line for line, _ in info.value.problems]
    assert lines == [3, 4, 5, 6, 7]
    reasons = dict(info.value.problems)
    assert "Bad_Name" in reasons[3]
    assert "already on line 2" in reasons[4] and "already on line 2" in reasons[5]
    assert "reserved" in reasons[6]
    assert "columns" in reasons[7]
    assert "roster.csv:3:" in str(info.value) and "4 more bad rows" in str(info.value)
    assert tree_snapshot(platform) == before and commit_count(platform) == count


def test_skip_invalid_onboards_good_rows(platform: Path, tmp_path: Path) -> None:
    skipped = api.onboard_roster(
        platform, write(tmp_path, BAD), api.OnboardOptions(student=""), skip_invalid=True
    ).skipped
    assert [line for line, _ in skipped] == [3, 4, 5, 6, 7]
    assert tenant_spec.list_students(platform) == ["good-one", "good-six"]


def test_roster_rerun_is_a_no_op(platform: Path, tmp_path: Path) -> None:
    path = write(tmp_path, CLASSROOM)
    api.onboard_roster(platform, path, api.OnboardOptions(student=""))
    count = commit_count(platform)
    result = api.onboard_roster(platform, path, api.OnboardOptions(student="")).result
    assert result.changed == [] and commit_count(platform) == count


@pytest.mark.parametrize("text", ["", "a,b,c\n1,2,3\n", "name,github_username\nx,y\n"])
def test_unknown_header(platform: Path, tmp_path: Path, text: str) -> None:
    with pytest.raises(InvalidInputError, match="roster"):
        api.onboard_roster(platform, write(tmp_path, text), api.OnboardOptions(student=""))
    assert not (platform / layout.TENANT_MANIFESTS_DIR).exists()


# -- read_roster: the file-level rules ------------------------------------------------------------


def test_duplicate_github_logins_differ_only_in_case(tmp_path: Path) -> None:
    """GitHub logins are case-insensitive: Kim-Dev and kim-dev are one account."""
    text = (
        "identifier,github_username,github_id,name\na,Kim-Dev,1,A\nb,kim-dev,2,B\nc,KIM-DEV,3,C\n"
    )
    rows, problems, _ = read_roster(write(tmp_path, text))
    assert [r.student for r in rows] == ["a"]
    assert problems == [
        (3, "GitHub login 'kim-dev' already on line 2"),
        (4, "GitHub login 'KIM-DEV' already on line 2"),
    ]


def test_read_roster_rows_and_problems(tmp_path: Path) -> None:
    text = (
        " Student_ID , GitHub_Username ,Email,NAME,Tier\n"
        "  s1 , gh1 , s1@x.kr , One , large \n"
        "\n"
        " , , \n"
        ",gh2,e,Two,\n"
        "s1,gh3,e,Again,\n"
        "s4,,e,Four\n"
        "s5,,,Five,\n"
        "s6,,,Six,\n"
    )
    rows, problems, _ = read_roster(write(tmp_path, text))
    assert rows == [
        RosterRow(line=2, student="s1", github="gh1", name="One", email="s1@x.kr", tier="large"),
        RosterRow(line=8, student="s5", github="", name="Five", email="", tier=""),
        RosterRow(line=9, student="s6", github="", name="Six", email="", tier=""),
    ]
    assert problems == [  # line 3 (empty) and line 4 (blank cells) are skipped
        (5, "empty student id"),
        (6, "student 's1' already on line 2"),
        (7, "expected 5 columns, found 4"),
    ]


def test_students_without_login_are_not_duplicates(tmp_path: Path) -> None:
    rows, problems, _ = read_roster(write(tmp_path, CLASSROOM.replace("parks", "")))
    assert problems == [] and [r.github for r in rows] == ["minji-k", "", ""]
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[0].email == "" and rows[0].tier == ""


@pytest.mark.parametrize(
    ("text", "student", "github", "email", "warnings"),
    [
        (
            "identifier,github_username,github_id,name,tier\nkim,kgh,1,Kim,large\n",
            "kim",
            "kgh",
            "",
            [],
        ),
        (
            "Student ID,GitHub,E-mail,Name\n202112345,kgh,k@x.kr,Kim\n",
            "202112345",
            "kgh",
            "k@x.kr",
            [],
        ),
        ("학번,이름,이메일\n202112345,김민지,k@x.kr\n", "202112345", "", "k@x.kr", []),
        (
            "student_id,github_username,email,name,team\nkim,kgh,,Kim,red\n",
            "kim",
            "kgh",
            "",
            ["column 'team' ignored"],
        ),
    ],
)
def test_headers_are_found_by_their_usual_names(
    tmp_path: Path, text: str, student: str, github: str, email: str, warnings: list[str]
) -> None:
    rows, problems, found = read_roster(write(tmp_path, text))
    assert problems == [] and [(r.student, r.github, r.email) for r in rows] == [
        (student, github, email)
    ]
    assert len(found) == len(warnings)
    for warning, part in zip(found, warnings, strict=True):
        assert part in warning and "--columns" in warning


def test_columns_name_the_others(tmp_path: Path) -> None:
    path = write(tmp_path, "Hakbun,Git Account,Team\n202112345,kgh,red\n")
    with pytest.raises(InvalidInputError, match="no student column in header"):
        read_roster(path)
    rows, problems, warnings = read_roster(
        path, parse_columns("student=Hakbun, github=git account")
    )
    assert [(r.student, r.github) for r in rows] == [("202112345", "kgh")] and problems == []
    assert len(warnings) == 1 and "'Team'" in warnings[0]
    with pytest.raises(InvalidInputError, match=r"--columns email='Mail' names no column"):
        read_roster(path, {"student": "Hakbun", "email": "Mail"})
    with pytest.raises(InvalidInputError, match="unknown role 'team'"):
        parse_columns("team=Team")
    with pytest.raises(InvalidInputError, match="is not ROLE=HEADER"):
        parse_columns("student")


def test_empty_and_non_utf8_rosters(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        read_roster(write(tmp_path, ""))
    assert info.value.message == f"roster {tmp_path / 'roster.csv'} is empty"
    path = tmp_path / "latin1.csv"
    path.write_bytes("identifier,github_username,github_id,name\na,,,J\xf6rg\n".encode("latin-1"))
    with pytest.raises(InvalidInputError) as info:
        read_roster(path)
    assert info.value.message == f"roster {path} is not UTF-8 text"


def test_roster_refusals_say_how_to_fix_them(tmp_path: Path) -> None:
    def hint(path: Path) -> str | None:
        with pytest.raises(InvalidInputError) as info:
            read_roster(path)
        return info.value.hint

    assert hint(write(tmp_path, "")) == "export the roster again"
    assert hint(write(tmp_path, "a,b\n")) == (
        "name it identifier or student_id (GitHub Classroom's export works as is), "
        "or pass --columns student=<its header>"
    )
    latin1 = tmp_path / "l.csv"
    latin1.write_bytes(b"identifier,github_username,github_id,name\na,,,J\xf6rg\n")
    assert hint(latin1) == "export the CSV as UTF-8"


def test_read_roster_skips_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + PLAIN.encode())
    rows, problems, _ = read_roster(path)
    assert problems == [] and [r.student for r in rows] == ["202112345", "202154321"]
    assert rows[0].tier == "large" and rows[0].email == "hong@konkuk.ac.kr"


def test_quoted_line_breaks_stay_in_their_cell(tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes(
        b'identifier,github_username,github_id,name\r\nkim,,,"Kim\r\nMinji"\r\nlee,,,Lee\r\n'
    )
    rows, problems, _ = read_roster(path)
    assert problems == []
    assert [(r.line, r.student, r.name) for r in rows] == [
        (3, "kim", "Kim\nMinji"),
        (4, "lee", "Lee"),
    ]
