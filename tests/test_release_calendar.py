"""The release calendar (issue 10): authored beside the dataflows, edited by administrators,
served as JSON and iCalendar, and a release late when no load published it by its day."""

from __future__ import annotations

import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar
from sqlmodel import Session

from sdmx_server.boot import create_schema
from sdmx_server.ops import calendar
from sdmx_server.ops.calendar import Plan
from sdmx_server.ops.calendar_authoring import read_releases
from sdmx_server.store.records import LoadRecord
from tests.browser_support import fresh_demo_portal
from tests.cli_support import run_cli

ROOT = Path(__file__).resolve().parent.parent
UTC = timezone.utc


def _write(folder: Path, text: str) -> Path:
    path = folder / "flow.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- authoring -----------------------------------------------------------------------------------


def test_a_schedule_becomes_one_release_per_period_due_days_after_it_ends(tmp_path):
    path = _write(tmp_path, """\
        releases:
          - dataflow: DF_X
            frequency: M
            from: 2025-11
            to: 2026-02
            days_after: 25
            note: {fa: ماهانه, en: monthly}
          - dataflow: SSO:DF_Y(2.0)
            frequency: Q
            from: 2025-Q4
            to: 2026-Q1
            days_after: 45
          - dataflow: SSO:DF_Z(1.0)
            dates:
              - {period: "2027", due: 2026-12-20}
              - {due: 2027-01-05, note: {en: an extra release}}
        """)
    read = read_releases([path], [("SSO", "DF_X", "1.0")])
    assert read.errors == []
    assert read.flows == {"SSO:DF_X(1.0)", "SSO:DF_Y(2.0)", "SSO:DF_Z(1.0)"}
    got = [(p.flow, p.period, p.due, p.note_fa, p.note_en) for p in read.plans]
    assert got == [
        ("SSO:DF_X(1.0)", "2025-11", date(2025, 12, 25), "ماهانه", "monthly"),
        ("SSO:DF_X(1.0)", "2025-12", date(2026, 1, 25), "ماهانه", "monthly"),
        ("SSO:DF_X(1.0)", "2026-01", date(2026, 2, 25), "ماهانه", "monthly"),
        ("SSO:DF_X(1.0)", "2026-02", date(2026, 3, 25), "ماهانه", "monthly"),  # February has 28 days
        ("SSO:DF_Y(2.0)", "2025-Q4", date(2026, 2, 14), "", ""),
        ("SSO:DF_Y(2.0)", "2026-Q1", date(2026, 5, 15), "", ""),
        ("SSO:DF_Z(1.0)", "2027", date(2026, 12, 20), "", ""),
        ("SSO:DF_Z(1.0)", "", date(2027, 1, 5), "", "an extra release"),
    ]
    assert all(p.source.startswith(f"{path}:") for p in read.plans)


@pytest.mark.parametrize(("entry", "line", "message"), [
    ("  - dataflow: DF_X\n    frequency: W\n    from: 2025-01\n    to: 2025-02\n    days_after: 3\n", 4, "frequency must be one of"),
    ("  - dataflow: DF_X\n    frequency: M\n    from: 2025-Q1\n    to: 2025-02\n    days_after: 3\n", 5, "from and to must be periods"),
    ("  - dataflow: DF_X\n    frequency: M\n    from: 2025-05\n    to: 2025-02\n    days_after: 3\n", 6, "comes before"),
    ("  - dataflow: DF_X\n    frequency: M\n    from: 2025-01\n    to: 2025-02\n    days_after: -1\n", 7, "days_after must be"),
    ("  - dataflow: DF_NOPE\n    dates: [{due: 2026-01-01}]\n", 3, "DF_NOPE is not defined in these files"),
    ("  - dataflow: DF_X\n    dates: [{due: tomorrow}]\n", 4, "due must be a day"),
    ("  - dataflow: DF_X\n    dates: [{due: 2026-01-01, period: soon}]\n", 4, "period 'soon' is not an SDMX period"),
    ("  - dataflow: DF_X\n    when: always\n    dates: [{due: 2026-01-01}]\n", 4, "unknown field 'when'"),
    ("  - dataflow: DF_X\n    frequency: M\n", 3, "missing: from, to, days_after"),
])
def test_mistakes_are_reported_at_their_line(tmp_path, entry, line, message):
    path = _write(tmp_path, "# a calendar\nreleases:\n" + entry)
    read = read_releases([path], [("SSO", "DF_X", "1.0")])
    assert [(e.line, message in e.message) for e in read.errors][:1] == [(line, True)], read.errors


def test_check_reads_the_demo_calendars_and_reports_a_broken_one(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert run_cli(capsys, "check", "dsd", "codelists")[0] == 0
    broken = tmp_path / "dsd"
    broken.mkdir()
    (broken / "cal.yaml").write_text("releases:\n  - dataflow: DF_KPI\n    frequency: X\n    from: 2025-01\n    to: 2025-02\n    days_after: 9\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "check", "dsd", "codelists", str(broken))
    assert code == 1 and f"{broken / 'cal.yaml'}:3:" in out


# -- statuses ------------------------------------------------------------------------------------


def _published(db, flow: str, when: datetime, changed: int = 1) -> int:
    with Session(db.engine) as session:
        row = LoadRecord(flow=flow, action="merge", source="test", status="applied", added=changed,
                         tx_time=int(when.timestamp() * 1e6), finished_at=when)
        session.add(row)
        session.commit()
        return row.id


def test_statuses_come_from_the_loads_that_published(db):
    create_schema(db)
    flow = "SSO:DF_X(1.0)"
    plans = [Plan(flow, f"2026-{m:02d}", date(2026, m + 1, 20)) for m in range(1, 6)]
    calendar.replace_authored(db, {flow}, plans, "test")
    _published(db, flow, datetime(2026, 1, 25, tzinfo=UTC))  # before January ended: counts for nothing
    on_time = _published(db, flow, datetime(2026, 2, 20, 23, 59, tzinfo=UTC))  # January's, on its day
    _published(db, flow, datetime(2026, 3, 10, tzinfo=UTC), changed=0)  # changed nothing: not a release
    late = _published(db, flow, datetime(2026, 3, 22, 8, tzinfo=UTC))  # February's, two days late
    now = datetime(2026, 5, 25, tzinfo=UTC)  # March's due 04-20 passed without a load; April's is ahead
    got = [(r.period, r.status, r.load_id) for r in calendar.releases(db, [flow], now=now)]
    assert got == [("2026-01", "on-time", on_time), ("2026-02", "late", late), ("2026-03", "missing", None),
                   ("2026-04", "missing", None), ("2026-05", "upcoming", None)]
    # a load now publishes the outstanding March and April figures, late
    catch_up = _published(db, flow, datetime(2026, 5, 26, tzinfo=UTC))
    got = calendar.releases(db, [flow], now=datetime(2026, 5, 27, tzinfo=UTC))
    assert [(r.status, r.load_id) for r in got[2:4]] == [("late", catch_up)] * 2
    assert got[4].status == "upcoming"  # May has not ended: that load was not May's figures
    assert calendar.next_release(db, flow, now=datetime(2026, 5, 27, tzinfo=UTC)).period == "2026-05"
    may = _published(db, flow, datetime(2026, 6, 2, tzinfo=UTC))
    assert [(r.status, r.load_id) for r in calendar.releases(db, [flow], now=datetime(2026, 6, 3, tzinfo=UTC))][4:] \
        == [("on-time", may)]
    assert calendar.next_release(db, flow, now=datetime(2026, 6, 3, tzinfo=UTC)) is None
    assert [r.period for r in calendar.releases(db, [flow], start=date(2026, 4, 1), end=date(2026, 5, 31),
                                                now=now)] == ["2026-03", "2026-04"]


def test_reloading_the_files_keeps_what_administrators_made(db):
    create_schema(db)
    flow = "SSO:DF_X(1.0)"
    calendar.replace_authored(db, {flow}, [Plan(flow, "2026-01", date(2026, 2, 20))], "cli")
    extra = calendar.add_release(db, Plan(flow, "", date(2026, 3, 1), "ویژه", "special"), "user:admin")
    edited = calendar.releases(db, [flow])[0]
    calendar.update_release(db, edited.id, "user:admin", due=date(2026, 2, 22))
    calendar.replace_authored(db, {flow}, [Plan(flow, "2026-02", date(2026, 3, 20))], "cli")
    got = sorted((r.period, r.due, r.origin) for r in calendar.releases(db, [flow]))
    assert got == [("", date(2026, 3, 1), "admin"), ("2026-01", date(2026, 2, 22), "admin"),
                   ("2026-02", date(2026, 3, 20), "authored")]
    calendar.delete_release(db, extra.id)
    with pytest.raises(calendar.NoSuchRelease):
        calendar.delete_release(db, extra.id)


# -- over HTTP, on the demo ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_template, tmp_path_factory):
    with fresh_demo_portal(demo_template, tmp_path_factory.mktemp("calendar-demo")) as portal:
        yield portal


def test_the_demo_calendar_as_json_and_icalendar(demo):
    public = demo.get("/releases").json()["releases"]
    flows = {r["dataflow"] for r in public}
    assert "SSO:DF_INSURED(1.0)" in flows and "SSO:DF_KPI(1.0)" in flows
    assert "SSO:DF_CONTRIBUTIONS(1.0)" not in flows and "SSO:DF_KPI_NORMS(1.0)" not in flows  # internal, restricted
    office = {r["dataflow"] for r in demo.get("/releases", who="office").json()["releases"]}
    assert {"SSO:DF_CONTRIBUTIONS(1.0)", "SSO:DF_KPI_NORMS(1.0)"} <= office
    insured = [r for r in public if r["dataflow"] == "SSO:DF_INSURED(1.0)"]
    assert [r["period"] for r in insured[:3]] == ["2026-10", "2026-11", "2026-12"]
    assert insured[0]["due"] == "2026-11-25"
    # The demo's figures were all loaded when its store was made (`seeded`): a release whose
    # period ended (and whose predecessor was due) before that was published then.
    seeded = min(datetime.fromisoformat(r["published_at"].replace("Z", "+00:00")) for r in public if r["published_at"])
    today, previous = datetime.now(UTC), None
    for r in insured:
        due_end = datetime.combine(date.fromisoformat(r["due"]) + timedelta(days=1), datetime.min.time(), UTC)
        period_end = datetime.combine(date.fromisoformat(r["period"] + "-01") + timedelta(days=32),
                                      datetime.min.time(), UTC).replace(day=1)
        opens = max(b for b in (previous, period_end) if b is not None)
        if opens <= seeded:
            assert r["published_at"] is not None, r
            assert r["status"] == ("on-time" if seeded < due_end else "late"), r
        else:
            assert r["published_at"] is None and r["status"] == ("missing" if today >= due_end else "upcoming"), r
        assert r["late"] == (r["status"] in ("late", "missing"))
        previous = due_end
    late = demo.get("/releases?status=late").json()["releases"]
    assert [r["id"] for r in late] == [r["id"] for r in public if r["late"]]

    ics = demo.get("/releases.ics?lang=fa")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(ics.content).walk("VEVENT")
    assert len(events) == len(public)
    by_uid = {str(e["uid"]).split("@")[0]: e for e in events}
    for r in public:
        event = by_uid[f"release-{r['id']}"]
        assert event.decoded("dtstart") == date.fromisoformat(r["due"])
        assert str(event["x-sdmx-status"]) == r["status"]
        assert str(event["summary"]).startswith("[دیرکرد]") == r["late"]
    kpi = next(e for e in events if str(e["x-sdmx-dataflow"]) == "SSO:DF_KPI(1.0)")
    assert "شاخص" in str(kpi["summary"])  # the dataflow's Persian name

    for bad in ("/releases?from=yesterday", "/releases?status=soon", "/releases?colour=red",
                "/releases?dataflow=DF_KPI", "/releases.ics?lang=de"):
        assert demo.get(bad).status_code == 400, bad
    assert demo.get("/releases?dataflow=SSO:DF_CONTRIBUTIONS(1.0)").status_code == 404


def test_administrators_plan_move_and_drop_releases(demo):
    admin = {"Authorization": f"Bearer {demo.users['admin']['token']}"}
    office = {"Authorization": f"Bearer {demo.users['office']['token']}"}
    body = {"dataflow": "SSO:DF_WORKSHOPS(1.0)", "due": "2099-01-01", "period": "2098-12",
            "note": {"fa": "انتشار ویژه", "en": "special release"}}
    assert httpx.post(demo.url + "/admin/api/releases", json=body).status_code == 401
    assert httpx.post(demo.url + "/admin/api/releases", json=body, headers=office).status_code == 403
    made = httpx.post(demo.url + "/admin/api/releases", json=body, headers=admin)
    assert made.status_code == 201, made.text
    release_id = made.json()["id"]

    def listed():
        found = demo.get("/releases?dataflow=SSO:DF_WORKSHOPS(1.0)").json()["releases"]
        return next((r for r in found if r["id"] == release_id), None)

    assert (listed()["status"], listed()["late"], listed()["published_at"]) == ("upcoming", False, None)
    assert listed()["notes"] == {"fa": "انتشار ویژه", "en": "special release"} and listed()["origin"] == "admin"
    # moved to three days ago, planned ahead of its period: the demo's loads (made today, after
    # the previous release was due) published it, after its day
    due = (date.today() - timedelta(days=3)).isoformat()
    moved = httpx.patch(f"{demo.url}/admin/api/releases/{release_id}", json={"due": due}, headers=admin)
    assert moved.status_code == 200, moved.text
    assert (listed()["due"], listed()["status"], listed()["late"]) == (due, "late", True)
    assert listed()["published_at"][:10] >= due
    for wrong in ({"due": "someday"}, {"period": "soon"}, {"note": 5}):
        r = httpx.patch(f"{demo.url}/admin/api/releases/{release_id}", json=wrong, headers=admin)
        assert r.status_code in (400, 422), (wrong, r.status_code)
    hidden = httpx.post(demo.url + "/admin/api/releases", headers=admin,
                        json={**body, "dataflow": "SSO:DF_NOPE(1.0)"})
    assert hidden.status_code == 404
    assert httpx.delete(f"{demo.url}/admin/api/releases/{release_id}", headers=admin).status_code == 204
    assert listed() is None
    assert httpx.delete(f"{demo.url}/admin/api/releases/{release_id}", headers=admin).status_code == 404
    trail = demo.get("/admin/api/audit?action=release.add", who="admin").json()
    entries = trail["entries"] if isinstance(trail, dict) else trail
    assert any(e["action"] == "release.add" and e["outcome"] == "ok" for e in entries)


def test_a_first_release_with_nothing_to_bound_it_looks_back_a_year_only(db):
    create_schema(db)
    flow = "SSO:DF_X(1.0)"
    calendar.replace_authored(db, {flow}, [Plan(flow, "", date(2026, 12, 15)), Plan(flow, "2028", date(2027, 12, 1))],
                              "cli")
    _published(db, flow, datetime(2025, 6, 1, tzinfo=UTC))  # long before: not this release's
    got = [(r.status, r.load_id) for r in calendar.releases(db, [flow], now=datetime(2026, 6, 1, tzinfo=UTC))]
    assert got == [("upcoming", None), ("upcoming", None)]
    load = _published(db, flow, datetime(2026, 3, 1, tzinfo=UTC))
    got = [(r.status, r.load_id) for r in calendar.releases(db, [flow], now=datetime(2026, 6, 1, tzinfo=UTC))]
    assert got == [("on-time", load), ("upcoming", None)]
