"""The demo's users (README "Users, tokens and grants"): made on the demo store's first start,
written to var/demo-users.txt, and each sees what the README says, over HTTP."""

from __future__ import annotations

import io
import stat

import httpx
import pandas as pd

from sdmx_server.cli import seed_demo
from sdmx_server.settings import Settings
from tests.browser_support import demo_users
from tests.conftest import running_server

CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"


def test_the_demo_users_see_what_the_readme_says(tmp_path, capsys):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", data_dir=tmp_path / "var")
    seed_demo(settings)
    path = settings.data_dir / "demo-users.txt"
    assert str(path) in capsys.readouterr().err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = demo_users(path.read_text(encoding="utf-8"))
    assert sorted(users) == ["admin", "isfahan", "office"]
    assert all(u["token"].startswith("sdmx_") and len(u["password"]) >= 12 for u in users.values())
    seed_demo(settings)  # a second start names the file again, and makes nobody twice
    assert str(path) in capsys.readouterr().err

    with running_server(settings) as server:
        def get(who: str | None, path: str, **headers) -> httpx.Response:
            auth = {"Authorization": f"Bearer {users[who]['token']}"} if who else {}
            return httpx.get(f"{server.url}{path}", headers={**auth, **headers}, timeout=60)

        contributions = "/rest/v2/data/dataflow/SSO/DF_CONTRIBUTIONS/1.0/*"
        assert get(None, contributions, Accept=CSV2).status_code == 404
        isfahan = pd.read_csv(io.BytesIO(get("isfahan", contributions, Accept=CSV2).content), dtype=str)
        office = pd.read_csv(io.BytesIO(get("office", contributions, Accept=CSV2).content), dtype=str)
        assert set(isfahan.PROVINCE) == {"IR-10"} and len(isfahan) > 0
        assert len(office.PROVINCE.unique()) == 32
        pd.testing.assert_frame_equal(isfahan.reset_index(drop=True),
                                      office[office.PROVINCE == "IR-10"].reset_index(drop=True))

        norms = "/rest/dataflow/SSO/DF_KPI_NORMS/1.0"
        assert [get(who, norms).status_code for who in (None, "isfahan", "office", "admin")] == [404, 404, 200, 200]

        me = get("isfahan", "/auth/me").json()
        assert (me["name"], me["groups"], me["is_admin"]) == ("isfahan", ["province-ir-10"], False)
        assert get("admin", "/auth/me").json()["is_admin"] is True
        login = httpx.post(f"{server.url}/auth/login", json={"name": "office", "password": users["office"]["password"]})
        assert login.status_code == 200 and "sdmx_session" in login.headers["set-cookie"]

        # the embargoed final figures of DF_KPI's last quarter (status A): the office's, not the public's
        kpi = "/rest/v2/data/dataflow/SSO/DF_KPI/1.0/*?lastNObservations=1"
        public = pd.read_csv(io.BytesIO(get(None, kpi, Accept=CSV2).content))
        ahead = pd.read_csv(io.BytesIO(get("office", kpi, Accept=CSV2).content))
        assert (public.OBS_STATUS != "A").all()
        assert (ahead.OBS_STATUS == "A").all()
