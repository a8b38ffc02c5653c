"""The period report from its figures: the CSV files, the HTML page with its charts and tables, and what a
hostile organisation name or theme, or an empty period, does to them. Pure: no database, no browser."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from html.parser import HTMLParser

import pytest
import sample_report

from mailflow.core.charts import PLOT_LEFT, PLOT_RIGHT, _step, bar_chart
from mailflow.core.mail.templates import make_environment
from mailflow.core.report import (
    Count,
    MeetingFigures,
    build_report,
    count_by_organisation,
    new_members_per_month,
)
from mailflow.settings import Organisation

ENV = make_environment()
FILES = {"report.html", "meetings.csv", "organisations.csv", "municipalities.csv", "new_members.csv"}


def build(language: str = "nl", **changes: object) -> dict[str, bytes]:
    return build_report(sample_report.figures(**changes), ENV, language).files


def csv_rows(data: bytes) -> list[list[str]]:
    """The rows of one of the report's CSV files, after checking its dialect: BOM, UTF-8, CRLF, ";"."""
    assert data.startswith(codecs.BOM_UTF8)
    text = data.decode("utf-8-sig")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


class Page(HTMLParser):
    """What a browser would build from the page: every tag, the tables' cells, the charts' parts, the text."""

    def __init__(self, html: bytes) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.charts: list[dict[str, object]] = []
        self.text: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._in: list[str] = []
        self.feed(html.decode("utf-8"))
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag not in ("meta", "rect", "line", "br"):
            self._in.append(tag)
        if tag == "table":
            self._table = attributes.get("class") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "svg":
            self.charts.append({"attributes": attributes, "ids": {}, "rects": []})
        elif tag == "rect" and self.charts:
            self.charts[-1]["rects"].append(attributes)  # type: ignore[attr-defined]
        if self.charts and self._inside("svg") and attributes.get("id"):
            self.charts[-1]["ids"][attributes["id"]] = tag  # type: ignore[index]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        if tag in self._in:
            while self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if not self._inside("style"):
            self.text.append(data)

    def _inside(self, tag: str) -> bool:
        return tag in self._in

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def test_the_report_is_a_page_and_one_csv_per_table():
    assert set(build()) == FILES


def test_meetings_csv_in_the_networks_language():
    rows = csv_rows(build()["meetings.csv"])
    assert rows[0] == [
        "Datum",
        "Thema",
        "Status",
        "Capaciteit",
        "Ingeschreven",
        "Wachtlijst",
        "Afgemeld",
        "Gekomen",
        "Zonder inschrijving",
        "Aanwezig",
    ]
    assert rows[1] == [
        *("2027-01-12", "Dringende medische hulp", "bevestigd"),
        *("40", "38", "5", "7", "31", "4", "35"),
    ]
    # A cancelled meeting, and one whose attendance was not recorded: empty cells, not zeros.
    assert rows[3] == ["2027-05-11", "Juridische bijstand", "geannuleerd", "", "12", "0", "12", "", "", ""]
    assert rows[4] == ["2027-06-08", "Vrijwillige terugkeer", "bevestigd", "30", "22", "0", "4", "", "", ""]
    assert len(rows) == 5


@pytest.mark.parametrize(
    ("language", "header"),
    [
        ("fr", ["Date", "Thème", "Statut", "Capacité", "Inscrits", "En attente", "Excusés", "Venus"]),
        ("en", ["Date", "Theme", "Status", "Capacity", "Registered", "Waiting", "Cancelled", "Attended"]),
    ],
)
def test_the_csv_headers_follow_the_language(language, header):
    files = build(language)
    assert csv_rows(files["meetings.csv"])[0][:8] == header
    assert f'<html lang="{language}">' in files["report.html"].decode()


def test_members_count_under_their_organisation_and_its_municipality():
    assert csv_rows(build()["organisations.csv"]) == [
        ["Organisatie", "Leden"],
        ["Werkgroep Vluchtelingen Gent", "13"],  # its name, its alias "WVG", and its name in lower case
        ["Rode Kruis Vlaanderen", "7"],
        ["CAW Oost-Vlaanderen", "6"],
        ["Dokters van de Wereld", "5"],
        ["Vluchtelingenwerk Vlaanderen", "4"],
        ["Buurtwerk Kortrijk", "2"],
        ["Wijkcentrum De Kring", "1"],
        ["geen organisatie", "3"],
    ]
    assert csv_rows(build()["municipalities.csv"]) == [
        ["Gemeente", "Leden"],
        ["Gent", "19"],
        ["Mechelen", "7"],
        ["Brussel", "5"],
        ["Kortrijk", "2"],
        ["onbekend", "8"],  # an organisation without a municipality, one not in the config, and none
    ]
    assert csv_rows(build("fr")["municipalities.csv"])[-1] == ["inconnue", "8"]


def test_organisations_are_matched_whatever_the_case_accents_and_spaces():
    known = [Organisation("Café Solidaire", ("CS",), municipality="Liège"), Organisation("Zonder Gemeente")]
    organisations, municipalities = count_by_organisation(
        ["café solidaire", "CAFE  SOLIDAIRE", " cs ", "Zonder Gemeente", "Onbekend Clubje", "", None], known
    )
    assert organisations == (
        Count("Café Solidaire", 3),
        Count("Onbekend Clubje", 1),
        Count("Zonder Gemeente", 1),
        Count(None, 2),
    )
    assert municipalities == (Count("Liège", 3), Count(None, 4))


def test_new_members_are_counted_per_month_of_the_period_zeros_included():
    joined = [dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2027, 1, 31), dt.date(2027, 3, 15)]
    joined += [dt.date(2027, 3, 16)]  # after the period's last day
    months = new_members_per_month(joined, dt.date(2026, 12, 20), dt.date(2027, 3, 15))
    assert [(m.month.isoformat(), m.members) for m in months] == [
        ("2026-12-01", 1),
        ("2027-01-01", 2),
        ("2027-02-01", 0),
        ("2027-03-01", 1),
    ]
    rows = csv_rows(build()["new_members.csv"])
    assert rows == [
        ["Maand", "Nieuwe leden"],
        ["2027-01", "4"],
        ["2027-02", "7"],
        ["2027-03", "0"],
        ["2027-04", "2"],
        ["2027-05", "0"],
        ["2027-06", "9"],
    ]


def test_the_page_shows_the_same_numbers_as_the_csv_files():
    files = build()
    page = Page(files["report.html"])
    for name in ("organisations", "municipalities", "new_members"):
        shown = page.tables[name]
        written = csv_rows(files[f"{name}.csv"])
        assert shown[0] == written[0]
        assert [row[1] for row in shown[1:]] == [row[1] for row in written[1:]], name
    assert [row[0] for row in page.tables["organisations"][1:]] == [
        row[0] for row in csv_rows(files["organisations.csv"])[1:]
    ]
    meetings = page.tables["meetings"]
    written = csv_rows(files["meetings.csv"])
    assert meetings[0] == written[0]
    for shown_row, written_row in zip(meetings[1:], written[1:], strict=True):
        assert shown_row[1] == written_row[1]  # the theme
        assert [cell.replace("–", "") for cell in shown_row[3:]] == written_row[3:]
    assert [row[0] for row in meetings[1:]] == ["12 jan 2027", "9 mrt 2027", "11 mei 2027", "8 jun 2027"]


def test_every_chart_is_labelled_and_followed_by_its_table():
    page = Page(build()["report.html"])
    assert len(page.charts) == 4
    for chart in page.charts:
        attributes = chart["attributes"]
        assert attributes["role"] == "img"
        title, desc = attributes["aria-labelledby"].split()
        assert chart["ids"] == {title: "title", desc: "desc"}
        assert attributes["viewbox"].startswith("0 0 800 ")
        assert any(float(rect["width"]) > 0 for rect in chart["rects"])
    assert set(page.tables) == {"meetings", "organisations", "municipalities", "new_members"}
    text = page.all_text
    assert "Inschrijvingen, wachtlijst, afmeldingen en aanwezigheid per bijeenkomst" in text
    assert "De tabel hieronder geeft dezelfde cijfers." in text


def test_the_totals_count_the_meetings_that_were_held():
    text = Page(build()["report.html"]).all_text
    assert "Bijeenkomsten 3 en 1 geannuleerd" in text
    assert "Ingenomen plaatsen 100" in text  # 38 + 40 + 22: the cancelled meeting's 12 are left out
    assert "Aanwezig 72 op 2 bijeenkomsten met genoteerde aanwezigheden" in text
    assert "Leden die deelnamen 41" in text
    assert "Organisaties 7 Gemeenten 4 Nieuwe leden 22" in text


def test_the_page_needs_nothing_from_outside():
    html = build()["report.html"].decode()
    page = Page(build()["report.html"])
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "image", "use", "foreignobject"}
    assert "http:" not in html and "https:" not in html and "url(" not in html and "@import" not in html
    links = [attributes["href"] for tag, attributes in page.tags if tag == "a"]
    assert links == ["meetings.csv", "organisations.csv", "municipalities.csv", "new_members.csv"]
    assert not any(name.startswith("on") for _, attributes in page.tags for name in attributes)


HOSTILE_THEME = '</title></svg><script>alert("theme")</script>\u202eevil\r\nline'
HOSTILE_ORGANISATION = '"><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","klik")'


def test_hostile_themes_and_organisations_stay_text():
    meetings = (MeetingFigures(dt.date(2027, 1, 12), HOSTILE_THEME, "confirmed", None, 3, 0, 0),)
    organisations, municipalities = count_by_organisation(
        [HOSTILE_ORGANISATION, FORMULA, "@SUM(A1)"], [Organisation(FORMULA, municipality="-2+3")]
    )
    files = build(meetings=meetings, organisations=organisations, municipalities=municipalities)
    page = Page(files["report.html"])
    assert {tag for tag, _ in page.tags} <= {
        *("html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "p", "dl", "div", "dt", "dd"),
        *("small", "figure", "svg", "desc", "rect", "text", "line", "g", "table", "caption", "span", "a"),
        *("thead", "tbody", "tr", "th", "td"),
    }
    assert not any(name.startswith("on") for _, attributes in page.tags for name in attributes)
    text = page.all_text
    assert '</title></svg><script>alert("theme")</script>evil line' in text  # one line, no bidi override
    assert HOSTILE_ORGANISATION in text
    rows = csv_rows(files["organisations.csv"])
    assert sorted(row[0] for row in rows[1:]) == sorted([HOSTILE_ORGANISATION, "'" + FORMULA, "'@SUM(A1)"])
    assert csv_rows(files["municipalities.csv"])[1] == ["'-2+3", "1"]
    assert csv_rows(files["meetings.csv"])[1][1] == '</title></svg><script>alert("theme")</script>evil line'


def test_an_empty_period_still_makes_a_whole_report():
    day = dt.date(2027, 8, 1)
    files = build(
        first=day,
        last=day,
        meetings=(),
        organisations=(),
        municipalities=(),
        new_members=new_members_per_month([], day, day),
    )
    assert set(files) == FILES
    for name in ("meetings", "organisations", "municipalities"):
        assert len(csv_rows(files[f"{name}.csv"])) == 1
    assert csv_rows(files["new_members.csv"])[1:] == [["2027-08", "0"]]
    page = Page(files["report.html"])
    assert "Geen bijeenkomsten in deze periode." in page.all_text
    assert "Niemand nam in deze periode deel aan een bijeenkomst." in page.all_text
    assert len(page.charts) == 1  # the new members, every month of the period, here one with 0
    assert "Bijeenkomsten 0 Ingenomen plaatsen 0" in page.all_text


@pytest.mark.parametrize(
    ("top", "step"), [(0, 1), (5, 1), (6, 2), (10, 2), (11, 5), (25, 5), (26, 10), (51, 20), (1000, 200)]
)
def test_grid_lines_are_one_two_or_five_times_a_power_of_ten(top, step):
    assert _step(top) == step


def test_bars_are_drawn_to_one_scale():
    chart = bar_chart(
        "c",
        [("a", [40, 10]), ("b", [20, None])],
        [("x", "#000000"), ("y", "#111111")],
        language="nl",
        not_recorded="niet genoteerd",
    )
    widths = [[bar.width for bar in row.bars] for row in chart.rows]
    assert widths[0][0] == PLOT_RIGHT - PLOT_LEFT  # 40 is the top of the axis (0, 10, ... 40)
    assert widths[0][1] == pytest.approx(widths[0][0] / 4, abs=0.1)
    assert widths[1] == [pytest.approx(widths[0][0] / 2, abs=0.1), 0]
    assert [bar.value for bar in chart.rows[1].bars] == ["20", "niet genoteerd"]
    assert chart.rows[1].bars[1].missing
    assert [label for _, label in chart.ticks] == ["0", "10", "20", "30", "40"]
    assert len(chart.legend) == 2
    long = bar_chart("d", [("x" * 80, [1])], [("n", "#000000")], language="nl")
    assert long.rows[0].label.endswith("…") and len(long.rows[0].label) <= 38
    assert long.rows[0].full_label == "x" * 80 and not long.legend
