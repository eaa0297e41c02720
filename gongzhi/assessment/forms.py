"""Forms of the assessment pages. They only parse (the rules' lines into the JSON the service expects); every rule
lives in :mod:`gongzhi.assessment.services`, whose errors are put back on these fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from gongzhi.web.forms import DATE, version_field

from .models import BandBasis, GroupKind, Period, Source, SubjectKind, Verdict

# The review levels as people write them: "街道筛评/street" or "街道筛评/街道".
LEVELS = {"community": "community", "社区": "community", "street": "street", "街道": "street",
          "district": "district", "区": "district", "区级": "district", "city": "city", "市": "city",
          "市级": "city"}
LEVEL_LABELS = {"community": _("社区"), "street": _("街道"), "district": _("区"), "city": _("市")}
SEPARATORS = ("/", "／", "|", ",", "，", " ")


class SchemeForm(forms.Form):
    name = forms.CharField(label=_("方案名称"), max_length=100, help_text=_("如：物业服务企业年度考评"))
    subject_kind = forms.ChoiceField(label=_("考评对象"), choices=SubjectKind.choices)
    area = forms.IntegerField(label=_("组织单位所在区域"), widget=forms.Select)
    period = forms.ChoiceField(label=_("考评周期"), choices=Period.choices, initial=Period.ANNUAL)
    description = forms.CharField(label=_("说明"), max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))


class IndicatorForm(forms.Form):
    code = forms.CharField(label=_("编号"), max_length=20, widget=forms.TextInput(attrs={"placeholder": "2.1"}))
    name = forms.CharField(label=_("指标"), max_length=100)
    parent = forms.IntegerField(label=_("上级指标"), required=False, widget=forms.Select)
    max_points = forms.CharField(label=_("分值"), max_length=12, required=False, initial="0",
                                 help_text=_("上级指标不填分值：其分值为下级之和"))
    source = forms.ChoiceField(label=_("来源"), choices=Source.choices, initial=Source.MANUAL)
    target = forms.CharField(label=_("满分所需数值"), max_length=12, required=False,
                             help_text=_("志愿服务时长：达到该小时数得满分"))
    guidance = forms.CharField(label=_("评分标准"), max_length=500, required=False,
                               widget=forms.Textarea(attrs={"rows": 2}))
    evidence = forms.CharField(label=_("需提供的依据"), max_length=200, required=False)
    periods = forms.CharField(label=_("评分周期"), max_length=100, required=False,
                              help_text=_("留空则每轮都评；否则写考评期后缀，用逗号分隔，如 Q1,Q3 或 H2"))
    feed_scheme = forms.IntegerField(label=_("结果来源方案"), required=False, widget=forms.Select,
                                     help_text=_("来源为“其他考评的结果”时：取该方案本期已发布的结果（如居民年终测评）"))

    def period_keys(self) -> list[str]:
        raw = self.cleaned_data.get("periods") or ""
        for sep in SEPARATORS:
            raw = raw.replace(sep, ",")
        return [p.strip() for p in raw.split(",") if p.strip()]


class GroupForm(forms.Form):
    name = forms.CharField(label=_("评分主体"), max_length=50,
                           widget=forms.TextInput(attrs={"placeholder": "主管部门"}))
    weight = forms.CharField(label=_("权重"), max_length=10, help_text=_("如 4 : 4 : 2 中的 4"))
    kind = forms.ChoiceField(label=_("方式"), choices=GroupKind.choices, initial=GroupKind.STAFF)


def _split(line: str, parts: int) -> list[str]:
    for sep in SEPARATORS[1:]:
        line = line.replace(sep, "/")
    items = [p.strip() for p in line.split("/") if p.strip()]
    return items[:parts] if len(items) >= parts else items


def _lines(raw: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate(raw.splitlines(), start=1) if line.strip()]


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


class RulesForm(forms.Form):
    """The rules of a draft version, written as lines: the page parses them into the service's JSON."""

    stages = forms.CharField(
        label=_("审核环节"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "街道筛评/street\n区级总评/district"}),
        help_text=_("每行一个环节：名称/层级（community 社区、street 街道、district 区、city 市），按先后顺序"))
    stars = forms.CharField(
        label=_("星级标准"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "5/95/90\n4/85/80"}),
        help_text=_("每行：星级/分数线/满意率线（%，可不写），如 5/95/90"))
    band_basis = forms.ChoiceField(label=_("分档方式"), choices=BandBasis.choices, initial=BandBasis.RANK)
    bands = forms.CharField(
        label=_("颜色分档"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "红/30\n蓝/40\n黄/30"}),
        help_text=_("每行：档名/比例（按名次，合计100）或 档名/分数线（按分数），从好到差"))
    awards = forms.CharField(
        label=_("评选奖项（三最）"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "最美网格员/\n最勤网格员/1.1\n最满意网格员/3"}),
        help_text=_("每行：奖项名称/评选依据的指标编号（不写则按总分）；得分最高者获奖，并列者同获"))
    honour_count = forms.IntegerField(label=_("红榜名额"), min_value=0, initial=3)
    shame_count = forms.IntegerField(label=_("黑榜名额"), min_value=0, initial=1)
    sanction_last = forms.IntegerField(label=_("惩戒：末位名次数"), min_value=0, initial=0,
                                       help_text=_("排名最后几名禁止承接新项目；0 为不惩戒"))
    sanction_days = forms.IntegerField(label=_("惩戒：禁止天数"), min_value=0, initial=0)
    sanction_annual = forms.BooleanField(label=_("惩戒只看年度结果"), required=False,
                                         help_text=_("勾选后，季度、月度等轮次的末位不受惩戒"))
    min_answers = forms.IntegerField(label=_("居民评价最少人数"), min_value=0, initial=0,
                                     help_text=_("少于该人数则结果无效（东港：50）"))
    objection_days = forms.IntegerField(label=_("公示期（天）"), min_value=0, initial=5)
    self_assessment = forms.BooleanField(label=_("先自评/自愿申报"), required=False)
    evidence_required = forms.BooleanField(label=_("扣分须附依据"), required=False, initial=True)
    version = version_field()

    @staticmethod
    def initial_for(v: Any) -> dict[str, Any]:
        sanction = v.sanction or {}
        key = "share" if v.band_basis == BandBasis.RANK else "min_score"
        return {
            "stages": "\n".join(f"{s.get('name', '')}/{s.get('level', '')}" for s in v.stages or []),
            "stars": "\n".join("/".join(str(x) for x in (r.get("level"), r.get("min_score", 0),
                                                         r.get("min_satisfaction")) if x not in (None, ""))
                               for r in v.stars or []),
            "band_basis": v.band_basis,
            "bands": "\n".join(f"{b.get('name', '')}/{b.get(key, '')}" for b in v.bands or []),
            "awards": "\n".join(f"{a.get('name', '')}/{a.get('indicator', '')}" for a in v.awards or []),
            "honour_count": v.honour_count, "shame_count": v.shame_count,
            "sanction_last": sanction.get("last_places", 0), "sanction_days": sanction.get("bar_days", 0),
            "sanction_annual": bool(sanction.get("annual_only")),
            "min_answers": v.min_answers, "objection_days": v.objection_days,
            "self_assessment": v.self_assessment, "evidence_required": v.evidence_required,
            "version": v.version,
        }

    def clean_stages(self) -> list[dict[str, Any]]:
        out = []
        for n, line in _lines(self.cleaned_data.get("stages") or ""):
            parts = _split(line, 2)
            level = LEVELS.get(parts[-1].lower()) if len(parts) == 2 else None
            if level is None:
                raise forms.ValidationError(
                    _g("第{n}行“{line}”应写作 名称/层级，如 街道筛评/street").format(n=n, line=line))
            out.append({"name": parts[0], "level": level})
        return out

    def clean_stars(self) -> list[dict[str, Any]]:
        out = []
        for n, line in _lines(self.cleaned_data.get("stars") or ""):
            parts = _split(line, 3)
            try:
                if len(parts) < 2:
                    raise ValueError
                rule: dict[str, Any] = {"level": int(parts[0]), "min_score": _number(parts[1])}
                if len(parts) == 3:
                    rule["min_satisfaction"] = _number(parts[2])
            except ValueError:
                raise forms.ValidationError(
                    _g("第{n}行“{line}”应写作 星级/分数线/满意率线，如 5/95/90").format(n=n, line=line)) from None
            out.append(rule)
        return out

    def clean_bands(self) -> list[dict[str, Any]]:
        out = []
        for n, line in _lines(self.cleaned_data.get("bands") or ""):
            parts = _split(line, 2)
            try:
                if len(parts) != 2:
                    raise ValueError
                out.append({"name": parts[0], "value": _number(parts[1])})
            except ValueError:
                raise forms.ValidationError(
                    _g("第{n}行“{line}”应写作 档名/数值，如 红/30").format(n=n, line=line)) from None
        return out

    def clean_awards(self) -> list[dict[str, str]]:
        out = []
        for n, line in _lines(self.cleaned_data.get("awards") or ""):
            parts = line.split("/", 1)
            name = parts[0].strip()
            if not name:
                raise forms.ValidationError(
                    _g("第{n}行“{line}”应写作 奖项名称/指标编号，如 最美网格员/1.1").format(n=n, line=line))
            out.append({"name": name, "indicator": parts[1].strip() if len(parts) == 2 else ""})
        return out

    def changes(self) -> dict[str, Any]:
        d = self.cleaned_data
        key = "share" if d["band_basis"] == BandBasis.RANK else "min_score"
        last, days = d.get("sanction_last") or 0, d.get("sanction_days") or 0
        return {
            "stages": d["stages"], "stars": d["stars"], "band_basis": d["band_basis"],
            "bands": [{"name": b["name"], key: b["value"]} for b in d["bands"]],
            "honour_count": d["honour_count"], "shame_count": d["shame_count"],
            "sanction": ({"last_places": last, "bar_days": days,
                          **({"annual_only": True} if d.get("sanction_annual") else {})} if last or days else {}),
            "min_answers": d["min_answers"], "objection_days": d["objection_days"],
            "self_assessment": d["self_assessment"], "evidence_required": d["evidence_required"],
            "awards": d["awards"],
        }


class RoundForm(forms.Form):
    name = forms.CharField(label=_("轮次名称"), max_length=100, help_text=_("如：2026年度物业服务企业考评"))
    area = forms.IntegerField(label=_("考评范围"), widget=forms.Select)
    period_key = forms.CharField(label=_("考评期"), max_length=10,
                                 help_text=_("如 2026（年度）、2026H1（半年）、2026Q3（季度）、2026-07（月）"))
    period_start = forms.DateField(label=_("考评期起"), widget=DATE)
    period_end = forms.DateField(label=_("考评期止"), widget=DATE)
    scoring_due = forms.DateField(label=_("评分截止日"), widget=DATE, required=False)


class AssignForm(forms.Form):
    rater = forms.IntegerField(label=_("评分人"), widget=forms.Select)
    group = forms.IntegerField(label=_("评分主体"), widget=forms.Select)
    subjects = forms.MultipleChoiceField(label=_("考评对象"), required=False,
                                         widget=forms.SelectMultiple(attrs={"size": 6}),
                                         help_text=_("不选则分配本轮全部考评对象"))


class ReviewForm(forms.Form):
    verdict = forms.ChoiceField(label=_("结论"), choices=Verdict.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("意见"), max_length=500, required=False,
                           help_text=_("不通过须写明理由"))


class ObjectionForm(forms.Form):
    text = forms.CharField(label=_("异议内容"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("答复"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class DeclareForm(forms.Form):
    self_score = forms.CharField(label=_("自评分"), max_length=10)
    self_note = forms.CharField(label=_("自评说明"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class LiftForm(forms.Form):
    reason = forms.CharField(label=_("解除理由"), max_length=300)


RATINGS = [(5, _("非常满意")), (4, _("满意")), (3, _("基本满意")), (2, _("不满意")), (1, _("非常不满意"))]


class SurveyForm(forms.Form):
    rating = forms.TypedChoiceField(label=_("您的评价"), choices=RATINGS, coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("意见建议"), max_length=300, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("选择“不满意”或“非常不满意”时请写明原因"))
