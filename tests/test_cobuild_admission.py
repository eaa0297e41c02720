"""Community admission control (社区工作事项准入, D5): a department files, the street admits (the item joins the
准入清单) or refuses with a reason, the department withdraws; scope (a unit sees only its own requests; a community
sees what its street admitted); flags of unadmitted work and the street's answer; the 减负 figures (three queries)
and their Excel export; the API."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from gongzhi.accounts import services as accounts
from gongzhi.cobuild.models import AdmissionRequest, AdmittedItem, UnadmittedFlag
from gongzhi.cobuild.selectors import admission as selectors
from gongzhi.cobuild.services import admission as services
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongzhi.core.scope import get_scoped, scope_of
from gongzhi.registry import services as registry
from gongzhi.registry.models import Sector
from tests.cast import Cast

TODAY = dt.date.today()


def _depts(cast: Cast) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name, code in (("civil", "区民政局", "11350100M000100Y40"), ("stats", "区统计局", "11350100M000200Y4X")):
        unit = registry.unit_create(actor=None, area=cast.district, name=name,
                                    credit_code=_code(code), sector=Sector.ORGAN)
        user = accounts.user_create(actor=None, username=key, password=cast.password)
        accounts.grant_role(actor=None, user=user, role="unit_handler", unit=unit)
        out[key], out[f"{key}_user"] = unit, user
    return out


def _code(first17: str) -> str:
    from gongzhi.core.validators import credit_code_check_char

    return first17[:17] + credit_code_check_char(first17[:17])


def _file(cast: Cast, d: dict[str, Any], who: str = "civil", **kw: Any) -> AdmissionRequest:
    data = {"kind": "report", "title": "困难群众入户核查表", "description": "每月由社区填报困难群众入户核查表",
            "communities": 2, **kw}
    return services.request_file(actor=d[f"{who}_user"], department=d[who], area=kw.pop("area", cast.street),
                                 **{k: v for k, v in data.items() if k != "area"})


def test_a_request_is_admitted_into_the_list_or_refused_with_a_reason(cast: Cast) -> None:
    d = _depts(cast)
    req = _file(cast, d)
    with pytest.raises(Forbidden):  # a department does not decide its own request
        services.request_step(actor=d["civil_user"], request=req, step="admit")
    with pytest.raises(Forbidden):  # a community worker does not decide for the street
        services.request_step(actor=cast.alice, request=req, step="admit")
    req = services.request_step(actor=cast.stan, request=req, step="admit", reason="属民政主责，纳入准入清单")
    assert req.state == "admitted" and req.admitted_item is not None
    item = req.admitted_item
    assert (item.area_id, item.kind, item.department_id) == (cast.street.pk, "report", d["civil"].pk)
    # 碧海 (below the street) sees what was admitted for it; 桥东 (another street) does not.
    assert item in selectors.items(cast.alice)
    community3_worker = accounts.user_create(actor=None, username="quinn", password=cast.password)
    accounts.grant_role(actor=None, user=community3_worker, role="community_worker", area=cast.community3)
    assert item not in selectors.items(community3_worker)

    other = _file(cast, d, title="社区填报各类台账（重复统计）", kind="report")
    with pytest.raises(InvalidInput) as exc:
        services.request_step(actor=cast.stan, request=other, step="refuse")
    assert "reason" in exc.value.fields
    other = services.request_step(actor=cast.stan, request=other, step="refuse", reason="与已有报表重复，不予准入")
    assert other.state == "refused" and other.decision_reason == "与已有报表重复，不予准入"
    with pytest.raises(Conflict):
        services.request_step(actor=cast.stan, request=other, step="admit")
    linked = _file(cast, d, title="困难群众核查表（第二版）")
    linked = services.request_step(actor=cast.stan, request=linked, step="admit", admitted_item=item)
    assert linked.admitted_item_id == item.pk and AdmittedItem.objects.count() == 1


def test_the_department_withdraws_while_filed_and_sees_only_its_own(cast: Cast) -> None:
    d = _depts(cast)
    mine = _file(cast, d)
    theirs = _file(cast, d, who="stats", title="统计调查入户", kind="task")
    assert list(selectors.requests(d["civil_user"])) == [mine]
    with pytest.raises(NotFound):
        get_scoped(d["civil_user"], AdmissionRequest, theirs.pk)
    with pytest.raises(Forbidden):
        services.request_step(actor=d["civil_user"], request=theirs, step="withdraw")
    mine = services.request_step(actor=d["civil_user"], request=mine, step="withdraw")
    assert mine.state == "withdrawn"
    with pytest.raises(Conflict):
        services.request_step(actor=cast.stan, request=mine, step="admit")
    # Filing sideways (the district's department to another district's street) is refused on the area.
    with pytest.raises(InvalidInput) as exc:
        services.request_file(actor=d["civil_user"], department=d["civil"], area=cast.district2, kind="task",
                              title="x", description="y")
    assert "area" in exc.value.fields
    with pytest.raises(Forbidden):  # not her unit
        services.request_file(actor=d["civil_user"], department=d["stats"], area=cast.street, kind="task",
                              title="x", description="y")


def test_a_community_flags_unadmitted_work_and_the_street_handles_it(cast: Cast) -> None:
    d = _depts(cast)
    flag = services.flag_raise(actor=cast.alice, area=cast.community, kind="signoff", department=d["stats"],
                               description="要求社区为辖区企业出具经营状况证明")
    assert flag.department_name == "区统计局"
    with pytest.raises(Forbidden):  # 港北 does not flag for 碧海
        services.flag_raise(actor=cast.charlie, area=cast.community, kind="task", department_name="某部门",
                            description="x")
    with pytest.raises(InvalidInput) as exc:
        services.flag_raise(actor=cast.alice, area=cast.community, kind="task", description="没写部门")
    assert "department_name" in exc.value.fields
    with pytest.raises(Forbidden):  # the community does not answer its own flag: the street does
        services.flag_handle(actor=cast.alice, flag=flag, note="已处理")
    flag = services.flag_handle(actor=cast.stan, flag=flag, note="已约谈区统计局，证明事项退回部门自行办理")
    assert flag.handled_at is not None
    with pytest.raises(Conflict):
        services.flag_handle(actor=cast.stan, flag=flag, note="再次处理")
    assert flag in selectors.flags(cast.alice) and flag not in selectors.flags(cast.charlie)


def test_the_figures_count_per_area_in_three_queries_and_export(cast: Cast, client,
                                                                 django_assert_max_num_queries) -> None:
    d = _depts(cast)
    a = _file(cast, d)
    services.request_step(actor=cast.stan, request=a, step="admit")
    for i in range(3):
        r = _file(cast, d, title=f"填报表格{i}", communities=5)
        services.request_step(actor=cast.stan, request=r, step="refuse", reason="未列入准入清单")
    services.request_step(actor=d["civil_user"], request=_file(cast, d, title="撤回的"), step="withdraw")
    _file(cast, d, title="待审的", area=cast.street2)
    services.flag_raise(actor=cast.alice, area=cast.community, kind="report", department_name="区市场监管局",
                        description="要求社区填报商户台账")
    f2 = services.flag_raise(actor=cast.charlie, area=cast.community2, kind="meeting", department_name="区城管局",
                             description="要求社区干部参加例会")
    services.flag_handle(actor=cast.stan, flag=f2, note="已协调")
    scope_of(cast.olga)  # her scope is read once per request, not per figure
    with django_assert_max_num_queries(3):
        f = selectors.figures(cast.olga, cast.district, TODAY.replace(month=1, day=1), TODAY)
    rows = {r.label: r for r in f.rows}
    assert (rows["新华街道"].filed, rows["新华街道"].admitted, rows["新华街道"].refused,
            rows["新华街道"].withdrawn, rows["新华街道"].spared) == (5, 1, 3, 1, 15)
    assert (rows["新城街道"].filed, rows["新城街道"].pending) == (1, 1)
    assert (f.total.flags, f.total.flags_handled) == (2, 1)
    assert rows["新华街道"].refusal_rate == 75.0
    street = selectors.figures(cast.stan, cast.street, TODAY.replace(month=1, day=1), TODAY)
    srows = {r.label: r for r in street.rows}
    assert srows["新华街道（本级）"].refused == 3 and srows["碧海社区"].flags == 1 and srows["港北社区"].flags == 1
    # Outside the period nothing counts.
    assert selectors.figures(cast.olga, cast.district, TODAY.replace(year=TODAY.year - 1, month=1, day=1),
                             TODAY.replace(year=TODAY.year - 1, month=12, day=31)).total.filed == 0

    client.force_login(cast.stan)
    page = client.get(f"/cobuild/admission/figures/?area={cast.street.pk}")
    assert page.status_code == 200 and 'id="kpi-refused">3<' in page.content.decode()
    xlsx = client.get(f"/cobuild/admission/figures.xlsx?area={cast.street.pk}")
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    total = next(r for r in values if r[0] == "合计")
    assert total[1:5] == [5, 1, 3, 1] and total[7] == 15
    client.force_login(cast.charlie)  # 港北 cannot read the district's figures
    assert client.get(f"/cobuild/admission/figures/?area={cast.district.pk}").status_code == 404


def test_the_api_files_decides_and_counts(cast: Cast) -> None:
    d = _depts(cast)

    def api(user: Any) -> Client:
        _token, key = accounts.token_create(actor=None, user=user, name="t")
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    dept, stan = api(d["civil_user"]), api(cast.stan)
    body = {"department_id": d["civil"].pk, "area_id": cast.street.pk, "kind": "report", "title": "推送表格",
            "description": "向社区推送入户调查表", "communities": 2}
    r = dept.post("/api/v1/cobuild/admission/requests", json.dumps(body), content_type="application/json")
    assert r.status_code == 201, r.content
    rid = r.json()["id"]
    bad = dept.post("/api/v1/cobuild/admission/requests", json.dumps({**body, "department_id": d["stats"].pk}),
                    content_type="application/json")
    assert bad.status_code == 400 and "department_id" in bad.json()["error"]["fields"]
    r = stan.post(f"/api/v1/cobuild/admission/requests/{rid}/steps",
                  json.dumps({"step": "refuse", "reason": "未列入准入清单", "version": 1}),
                  content_type="application/json")
    assert r.status_code == 200 and r.json()["state"] == "refused"
    assert dept.get("/api/v1/cobuild/admission/requests").json()["items"][0]["decision_reason"] == "未列入准入清单"
    assert api(d["stats_user"]).get(f"/api/v1/cobuild/admission/requests/{rid}").status_code == 404
    fig = stan.get(f"/api/v1/cobuild/admission/figures?area_id={cast.street.pk}").json()
    assert fig["total"]["refused"] == 1 and fig["total"]["spared"] == 2
    assert UnadmittedFlag.objects.count() == 0


def test_the_pages_file_decide_list_and_flag(cast: Cast, client) -> None:
    d = _depts(cast)
    client.force_login(d["civil_user"])
    assert client.get("/cobuild/admission/requests/new/").status_code == 200
    r = client.post("/cobuild/admission/requests/new/", {
        "department": d["civil"].pk, "area": cast.street.pk, "kind": "meeting", "title": "养老服务推进会",
        "description": "请各社区书记参加", "basis": "", "communities": 2})
    assert r.status_code == 302, r.content.decode()[-1500:]
    req = AdmissionRequest.objects.get()
    client.force_login(cast.stan)
    assert "养老服务推进会" in client.get("/cobuild/admission/").content.decode()
    r = client.post(f"/cobuild/admission/requests/{req.pk}/step/", {"step": "admit", "version": req.version,
                                                                    "reason": "纳入清单"})
    assert r.status_code == 302 and AdmissionRequest.objects.get().state == "admitted"
    assert "养老服务推进会" in client.get("/cobuild/admission/items/").content.decode()
    r = client.post("/cobuild/admission/items/new/", {"area": cast.street.pk, "kind": "task", "name": "人口普查协助"})
    assert r.status_code == 302 and AdmittedItem.objects.count() == 2
    client.force_login(cast.alice)
    r = client.post("/cobuild/admission/flags/new/", {"area": cast.community.pk, "kind": "report",
                                                      "department_name": "区文旅局", "description": "要求填报"})
    assert r.status_code == 302
    flag = UnadmittedFlag.objects.get()
    assert "人口普查协助" in client.get("/cobuild/admission/").content.decode()  # the street's list, seen below
    client.force_login(cast.stan)
    r = client.post(f"/cobuild/admission/flags/{flag.pk}/handle/", {"note": "已退回部门"})
    assert r.status_code == 302 and UnadmittedFlag.objects.get().handling == "已退回部门"
    client.force_login(d["stats_user"])  # another department: not its request
    assert client.get(f"/cobuild/admission/requests/{req.pk}/").status_code == 404
