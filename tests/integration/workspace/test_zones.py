"""Each organisation sees times in its own zone: `fhir-adapter orgs update ORG --time-zone`, the same
instant of admission shown at Seoul's and Chicago's local time, and Today's days beginning at their
midnights."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fhir_adapter import cli
from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.db import writing
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.service.context import stamp, utc_now
from tests.conftest import ROOT, read_json
from tests.integration.conftest import seed
from tests.integration.events.conftest import MRN, MRN_SYSTEM
from tests.integration.workspace.conftest import add_person, sign_in
from tests.support import adt

ADT = {"Content-Type": "x-application/hl7-v2+er7"}
ADMITTED = "20251014200000+0000"  # 15 Oct 05:00 in Seoul, 14 Oct 15:00 in Chicago


def _admitted_org(service: Any, app: Any, new_org: Any, org_id: str) -> Any:
    """An organisation with Kim's case file, its hospital, her A01, and a planner signed in."""
    headers = new_org(org=org_id)
    client = app.test_client()
    seed(client, headers, copy.deepcopy(read_json(ROOT / "fixtures" / "cases" / "discharge-kim.json")))
    ehr = Ehr(org_id, "rgh", "http://127.0.0.1:9/fhir", "none", mrn_system=MRN_SYSTEM, mrn_authority="RGH")
    with writing(service.engine) as conn:
        ehr_store.add_ehr(conn, ehr, stamp(utc_now()))
    visit = adt.Visit(mrn=MRN, number="V-1", admitted=ADMITTED)
    answer = client.post("/api/v1/ehrs/rgh/adt", data=adt.message("A01", visit), headers=headers | ADT)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert sign_in(client, add_person(service, org_id)).status_code == 302
    return client


def test_two_organisations_see_the_same_admission_at_their_own_local_time(
    service: Any, app: Any, new_org: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seoul_org, chicago_org = f"{new_org.org_id}-kr", f"{new_org.org_id}-us"
    seoul = _admitted_org(service, app, new_org, seoul_org)
    chicago = _admitted_org(service, app, new_org, chicago_org)
    monkeypatch.setenv("FHIR_ADAPTER_DATABASE_URL", service.settings.database_url)
    assert cli.main(["orgs", "update", seoul_org, "--time-zone", "Asia/Seoul"]) == 0
    assert cli.main(["orgs", "update", chicago_org, "--time-zone", "America/Chicago"]) == 0
    capsys.readouterr()
    assert cli.main(["orgs", "show", seoul_org]) == 0
    assert "\tAsia/Seoul\t" in capsys.readouterr().out

    kim_seoul = seoul.get("/app/clients/CL-20417").get_data(as_text=True)
    kim_chicago = chicago.get("/app/clients/CL-20417").get_data(as_text=True)
    assert "Admitted 15 Oct 2025, 05:00 KST" in kim_seoul
    assert "Admitted 14 Oct 2025, 15:00 CDT" in kim_chicago
    assert "Times are shown in Asia/Seoul." in kim_seoul
    assert "Times are shown in America/Chicago." in kim_chicago

    # Today's days begin at each organisation's midnight.
    assert "CL-20417" in seoul.get("/app/?from=2025-10-15&to=2025-10-15").get_data(as_text=True)
    assert "CL-20417" not in seoul.get("/app/?from=2025-10-14&to=2025-10-14").get_data(as_text=True)
    assert "CL-20417" in chicago.get("/app/?from=2025-10-14&to=2025-10-14").get_data(as_text=True)
    assert "CL-20417" not in chicago.get("/app/?from=2025-10-15&to=2025-10-15").get_data(as_text=True)

    # Back to the site's zone.
    assert cli.main(["orgs", "update", seoul_org, "--time-zone", "default"]) == 0
    site = service.settings.time_zone
    assert f"Times are shown in {site}." in seoul.get("/app/clients/CL-20417").get_data(as_text=True)


def test_the_orgs_command_refuses_what_it_cannot_use(
    service: Any, new_org: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    new_org()
    monkeypatch.setenv("FHIR_ADAPTER_DATABASE_URL", service.settings.database_url)
    assert cli.main(["orgs", "update", new_org.org_id, "--time-zone", "Mars/Olympus"]) == 2
    assert "not an IANA time zone: 'Mars/Olympus'" in capsys.readouterr().err
    assert cli.main(["orgs", "update", new_org.org_id, "--time-zone", "../../etc/passwd"]) == 2
    assert cli.main(["orgs", "update", "no-such-org", "--time-zone", "UTC"]) == 2
    assert "there is no organisation no-such-org" in capsys.readouterr().err
    assert cli.main(["orgs", "update", new_org.org_id]) == 2
    assert "--time-zone" in capsys.readouterr().err
    assert cli.main(["orgs", "show"]) == 2
    assert cli.main(["orgs", "show", "no-such-org"]) == 2
    capsys.readouterr()
    assert cli.main(["orgs", "list"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith(new_org.org_id)]
    assert len(listed) == 1 and "(the site's, FHIR_ADAPTER_TIME_ZONE)" in listed[0]
