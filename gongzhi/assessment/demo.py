"""A year of assessment (考评, E1–E4) in the demo city, so the schemes, rounds, results, 红黑榜, stars, colour bands and
credit files mean something on first start. Four schemes, each after one of the seeds:

- **物业服务企业考评** (天长): set by the first district; 60 indicators under six headings (党建引领, 环境卫生,
  秩序维护, 设施设备, 服务质量, 群众满意) worth 100 points; 主管部门 : 社区党组织 : 业主代表 = 4 : 4 : 2.
  Version 1 ran the quarterly rounds of last year; version 2 adds the year-end sanction (年度末位禁止承接
  新项目一年) and ran the year-end round, published in January with its 红黑榜, one objection answered during
  the notice, and the last place barred. The district has ten property companies (the registry's, and a few
  more registered here through the registry's service, so a ranking means something).
- **网格评价** (天长 红蓝黄三色网格): set by the first street over its grids, every quarter for the last four: four
  indicators scored by the street, 诉求满意率 and 按期办结率 computed from the grid's own cases; bands 红 30 % ·
  蓝 40 % · 黄 30 % by rank.
- **五星级和谐社区评定** (本溪): the district's communities declare (自愿申报/社区自评), residents answer (居民测评),
  the district scores, then 街道筛评 → 区级总评, 公示 and 授牌: five stars at 95 points and 90 % satisfaction.
- **驻区单位和帮扶部门群众评议** (东港): at the end of last year residents scored every member unit and department
  that helps their community; at least 50 answers are needed, and one unit with fewer is shown as invalid.

Everything goes through :mod:`.services` as the people named would do it (the demo accounts: ``district``, ``unit``,
``secretary``, ``street``, ``community``, ``orgadmin``, ``resident``), so the rounds walk the declared table and the
results are computed by the product's own rules. Residents' answers are the volume and most residents have no account:
they are written in bulk exactly as :func:`.services.survey_answer` writes them (the keyed voter hash, the resident's
area, one anonymous audit entry each), while the scoring is open, before the service computes the results. The
services stamp what they write with the clock; afterwards each phase's audit entries and timestamps are put back on the
demo's calendar (a round published in January shows January). Deterministic: one seeded random.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from gongzhi.core import audit, workdays
from gongzhi.core.models import AuditEntry
from gongzhi.registry import services as registry
from gongzhi.registry.demo import credit_code
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Pairing, PairingKind, Person, Sector

from . import selectors, services
from .models import (
    Assignment,
    GroupKind,
    Indicator,
    Objection,
    Period,
    Review,
    Round,
    Sanction,
    Scheme,
    SchemeVersion,
    Source,
    Subject,
    SubjectKind,
    SurveyAnswer,
    Verdict,
)

HALF = Decimal("0.5")
# A leaf: name, points, 评分标准, 需提供的依据 (blank: none), what a rater writes when deducting.
Leaf = tuple[str, str, str, str, str]
Heading = tuple[str, str, list[Leaf]]

PROPERTY: list[Heading] = [
    ("党建引领", "物业企业党组织覆盖、参与社区治理情况", [
        ("成立党组织或纳入联合党支部", "2", "未成立党组织且未纳入联合党支部的不得分", "党组织成立批复或联合党支部名单",
         "企业尚未成立党组织，仅有1名党员挂靠联合党支部"),
        ("项目经理为党员或配备党建指导员", "1.5", "未配备的不得分", "",
         "项目经理非党员，党建指导员尚未到岗"),
        ("参加社区“大党委”联席会议", "2", "每缺席一次扣0.5分", "会议签到表",
         "本期联席会议缺席1次"),
        ("设立党员先锋岗，党员亮身份", "1.5", "服务中心未设立先锋岗的扣1分", "",
         "服务中心未悬挂党员先锋岗标识"),
        ("参与小区议事协商", "2", "应参加未参加的每次扣0.5分", "议事记录",
         "小区议事会讨论停车收费时未派员参加"),
        ("落实“红色物业”共建项目", "2", "共建项目未按期推进的扣1分", "",
         "红色物业共建项目进度滞后"),
        ("配合社区开展志愿服务活动", "2", "全年少于4次的扣1分", "活动照片及签到表",
         "本期仅参加社区志愿服务1次"),
        ("按时向社区报告物业服务情况", "2", "未按季度报告的扣1分", "",
         "季度物业服务情况报告逾期提交"),
    ]),
    ("环境卫生", "公共区域保洁、垃圾分类、绿化养护和消杀", [
        ("楼道楼梯每日清扫，无杂物堆放", "2", "每发现一处堆物扣0.5分", "",
         "{b}号楼楼道堆放纸箱、旧家具未清理"),
        ("道路路面清洁，无积水、无油污", "2", "每发现一处扣0.5分", "",
         "小区主干道雨后积水未及时清扫"),
        ("垃圾桶定点摆放，垃圾日产日清", "2", "发现垃圾满溢的每处扣0.5分", "",
         "{b}号楼旁垃圾桶满溢，周边有散落垃圾"),
        ("落实垃圾分类，投放指导到位", "2", "未安排督导员的扣1分", "分类督导记录",
         "晚间投放时段无督导员值守"),
        ("绿化带修剪及时，无枯死缺株", "2", "每发现一处枯死缺株扣0.5分", "",
         "{b}号楼南侧绿篱枯死、缺株未补种"),
        ("绿地无种菜、无侵占", "1.5", "发现侵占绿地未劝阻的扣0.5分", "",
         "{b}号楼后绿地被居民种菜，未劝阻上报"),
        ("化粪池、雨污管道定期清掏", "1.5", "无清掏记录的不得分", "清掏记录",
         "化粪池清掏记录缺少上季度记录"),
        ("病媒生物防制按时开展", "2", "未按月消杀的扣1分", "消杀记录",
         "地下室未按月开展灭鼠灭蟑"),
        ("外墙及公共设施无乱张贴、乱涂写", "1.5", "每发现一处扣0.5分", "",
         "单元门及电梯厅有小广告未清除"),
        ("建筑垃圾集中堆放、及时清运", "2", "超过3天未清运的扣1分", "",
         "装修垃圾在{b}号楼前堆放超过一周"),
        ("二次供水水箱定期清洗消毒", "1.5", "无检测报告的不得分", "水质检测报告",
         "水箱清洗后未公示水质检测报告"),
    ]),
    ("秩序维护", "门岗值守、巡逻、停车秩序和消防安全", [
        ("出入口24小时值守，外来人员车辆登记", "2", "脱岗或未登记的每次扣0.5分", "",
         "抽查时北门岗亭无人值守"),
        ("按规定时段巡逻并记录", "2", "巡逻记录缺失的扣1分", "巡逻记录",
         "夜间巡逻记录有两天空白"),
        ("机动车停放有序，消防通道畅通", "2", "消防通道被占用的每处扣1分", "",
         "{b}号楼前消防通道停放私家车"),
        ("非机动车规范停放，电动车不进楼入户", "2", "发现楼道停放或充电的每处扣0.5分", "",
         "{b}号楼楼道内有电动自行车充电"),
        ("监控系统正常运行，录像保存30天以上", "2", "监控损坏未修复的每处扣0.5分", "监控运行记录",
         "东侧围墙两处监控摄像头损坏未修"),
        ("消防器材完好，定期检查", "2", "灭火器过期或缺失的每处扣0.5分", "检查记录",
         "{b}号楼二单元灭火器压力不足"),
        ("每年组织消防演练不少于1次", "1.5", "未组织的不得分", "演练照片及记录",
         "本年度消防演练尚未组织"),
        ("制止违章搭建并及时报告", "1.5", "发现违建未报告的扣1分", "",
         "{b}号楼顶层住户搭建阳光房，未及时上报"),
        ("突发事件有应急预案、处置及时", "1.5", "无预案的不得分，处置不及时的扣0.5分", "应急预案",
         "停水事件未及时通知业主"),
        ("配合平安小区创建和矛盾纠纷排查", "1.5", "未参加排查的扣0.5分", "",
         "未参加本季度矛盾纠纷排查"),
    ]),
    ("设施设备", "电梯、供水、照明、消防设施和公共部位维修", [
        ("电梯日常巡检，年检合格证公示", "2", "未公示合格证的每部扣0.5分", "电梯年检合格证",
         "{b}号楼电梯轿厢内未张贴年检合格证"),
        ("电梯困人救援30分钟内到达", "2", "超时到达的每次扣1分", "救援记录",
         "一次电梯困人救援45分钟才到场"),
        ("二次供水设施运行正常", "1.5", "因设施故障停水的每次扣0.5分", "",
         "加压泵故障导致高层停水半天"),
        ("公共照明完好率95%以上", "1.5", "每发现一处不亮扣0.5分", "",
         "{b}号楼楼道声控灯多处不亮"),
        ("消防设施设备维护保养", "2", "无维保合同的不得分", "维保合同及记录",
         "消防栓箱内水带老化未更换"),
        ("道路、路沿石、井盖完好", "1.5", "井盖缺失破损的每处扣0.5分", "",
         "小区西侧井盖破损未及时更换"),
        ("公共设施设备台账齐全", "1.5", "台账缺项的扣0.5分", "设施设备台账",
         "设施设备台账未更新维修记录"),
        ("报修项目按时限维修完成", "2", "超时限的每件扣0.5分", "报修登记",
         "两件报修超过承诺时限未处理"),
        ("专项维修资金使用公开", "1.5", "未公示的不得分", "公示照片",
         "维修资金使用情况未在公告栏公示"),
        ("安全警示标识设置规范", "1.5", "缺少警示标识的每处扣0.5分", "",
         "水泵房、配电室门口无警示标识"),
    ]),
    ("服务质量", "服务公示、收费、投诉处理和便民服务", [
        ("服务中心公示服务标准和收费标准", "1.5", "未公示的不得分", "公示照片",
         "收费标准公示内容未及时更新"),
        ("服务热线24小时畅通", "1.5", "抽查无人接听的每次扣0.5分", "",
         "夜间抽查服务热线无人接听"),
        ("工作人员持证上岗、统一着装", "1", "抽查不符合的每人扣0.5分", "",
         "保洁人员未统一着装"),
        ("物业服务合同履行到位", "1.5", "服务内容缩水的扣1分", "物业服务合同",
         "合同约定的每日两次保洁实际只做一次"),
        ("收费合规，无乱收费", "1.5", "发现乱收费的不得分", "",
         "装修垃圾清运费未经公示即收取"),
        ("每半年公布物业费收支情况", "1.5", "未公布的不得分", "公示材料",
         "上半年物业费收支情况未公布"),
        ("投诉处理及时，回复率100%", "1.5", "未回复的每件扣0.5分", "投诉处理台账",
         "两件业主投诉未回复"),
        ("平台派单按期办结", "1.5", "超期的每件扣0.5分", "",
         "平台转办的漏水诉求超期办结"),
        ("为特殊群体提供上门服务", "1", "无服务记录的扣0.5分", "",
         "独居老人上门服务记录不全"),
        ("档案资料完整、管理规范", "1", "档案缺失的扣0.5分", "",
         "业主档案信息未及时更新"),
        ("开展社区文化活动或便民服务", "1.5", "全年少于2次的扣1分", "",
         "本期未开展便民服务活动"),
    ]),
    ("群众满意", "业主评价、投诉和满意度调查", [
        ("业主对保洁服务满意", "1.5", "按业主代表评价折算", "",
         "业主反映楼道保洁不及时"),
        ("业主对秩序维护满意", "1.5", "按业主代表评价折算", "",
         "业主反映外来车辆随意进出"),
        ("业主对维修服务满意", "1.5", "按业主代表评价折算", "",
         "业主反映报修响应慢"),
        ("业主对绿化养护满意", "1.5", "按业主代表评价折算", "",
         "业主反映绿化修剪不及时"),
        ("业主对服务态度满意", "1.5", "按业主代表评价折算", "",
         "业主反映客服人员态度生硬"),
        ("无群体性投诉、越级上访", "2", "发生群体性投诉的不得分", "",
         "发生一起业主集体投诉停车收费"),
        ("12345热线投诉量同比下降", "1.5", "同比上升的扣1分", "热线工单统计",
         "12345热线投诉量同比上升"),
        ("媒体曝光问题及时整改", "1", "未整改的不得分", "",
         "媒体反映的问题整改不到位"),
        ("业主委员会（物业管理委员会）评价", "1.5", "评价为不满意的不得分", "业委会评价意见",
         "业委会对本期服务评价为基本满意"),
        ("每季度开展满意度调查并公示", "1.5", "未开展的不得分", "调查问卷及结果",
         "满意度调查结果未公示"),
    ]),
]

GRID: list[tuple[str, str, str, str, list[str]]] = [  # name, points, guidance, evidence, deductions
    ("三访入户走访", "25", "按“三访”要求走访辖区住户，走访率低于90%的每低1个百分点扣1分", "走访台账",
     ["本季度走访率不足90%，独居老人未全部走访", "走访台账记录不完整，部分住户无走访时间"]),
    ("基础信息采集更新", "15", "实有人口、房屋、单位信息动态更新，每发现一处错漏扣0.5分", "",
     ["新入住住户信息未及时录入", "出租房屋信息未更新"]),
    ("矛盾纠纷排查调处", "15", "矛盾纠纷早发现早调处，小事不出网格，上交矛盾每件扣1分", "调解记录",
     ["一起邻里漏水纠纷未在网格内化解", "矛盾纠纷排查台账未按月更新"]),
    ("网格党建", "10", "网格党支部（党小组）按月开展活动，党员联系户全覆盖", "",
     ["网格党小组本季度仅活动1次", "党员联系户名单未更新"]),
]

STARS: list[tuple[str, list[tuple[str, str, str, str, list[str]]]]] = [
    ("党建引领", [
        ("社区大党委运行规范，兼职委员履职到位", "5", "每季度召开联席会议，兼职委员认领项目", "大党委会议记录",
         ["兼职委员认领项目未落实"]),
        ("三级联动责任落实，党员下沉包保小区", "5", "街道、社区、小区三级责任清单明确", "",
         ["部分小区包保党员未到位"]),
        ("在职党员双报到、亮身份作用发挥", "5", "报到党员每年参加社区活动不少于2次", "",
         ["部分报到党员全年未参加社区活动"]),
    ]),
    ("长效管护", [
        ("改造小区建立长效管护机制", "8", "管护主体、经费、制度“三落实”", "管护制度及台账",
         ["一处改造小区管护经费未落实", "管护台账记录不连续"]),
        ("改造设施完好，无损坏、无挪用", "7", "每发现一处损坏扣1分", "",
         ["健身器材损坏未及时维修", "改造后的停车位被占用堆物"]),
        ("小区环境整洁，无乱堆乱放、私搭乱建", "5", "每发现一处扣1分", "",
         ["楼间空地有乱堆乱放", "发现一处私搭乱建未拆除"]),
        ("维修改造质量现场共评", "5", "党员群众“行走的袖标”参与现场共评", "共评记录",
         ["现场共评居民参与人数偏少"]),
    ]),
    ("居民自治", [
        ("小区议事会常态化议事协商", "8", "每月至少议事一次，议定事项有落实", "议事记录",
         ["议定事项落实情况未反馈居民", "有一个月未召开议事会"]),
        ("居民公约、小区自治章程制定并落实", "7", "公约经居民会议通过并公示", "",
         ["居民公约未经居民会议修订"]),
    ]),
    ("平安和谐", [
        ("矛盾纠纷排查化解及时", "8", "排查全覆盖，化解率95%以上", "调解台账",
         ["一起物业纠纷调解时间过长"]),
        ("无重大安全事故、无群体性事件", "7", "发生的不得分", "",
         ["发生一起居民集体上访"]),
    ]),
    ("服务群众", [
        ("为民办实事项目按期完成", "8", "承诺事项按期完成并公示", "",
         ["一件民生实事未按期完成"]),
        ("党员群众监督常态开展", "7", "“行走的袖标”巡查每周不少于一次", "巡查记录",
         ["巡查记录有缺漏"]),
    ]),
]

UNIT_ITEMS: list[tuple[str, str, str]] = [  # the questions residents answer about a unit, as its indicators
    ("履行共建承诺", "30", "承诺书事项按期兑现"),
    ("为民办实事", "30", "帮助社区解决实际问题"),
    ("工作作风", "20", "深入社区、联系群众、作风务实"),
    ("服务群众满意度", "20", "居民对单位服务的总体评价"),
]

LOW_COMMENTS = {
    "property": ["楼道卫生长期没人管", "电梯经常坏，报修没人来", "外来车辆乱停，消防通道被堵", "物业费收支从不公开",
                 "小区垃圾清运不及时，气味很大"],
    "community": ["小区改造后的设施没人维护", "反映的问题迟迟没有回音", "议事会开了也没落实"],
    "unit": ["一年没见单位来过社区", "承诺的事情没有兑现", "只来拍照，不办实事"],
}
GOOD_COMMENTS = {
    "property": ["保洁阿姨很负责", "维修师傅来得及时", "门岗管理比以前规范了"],
    "community": ["社区干部办事热心", "改造后小区环境好多了", "议事会解决了停车难"],
    "unit": ["帮社区修好了路灯", "义诊服务很受老人欢迎", "结对单位经常来走访"],
}
NEW_COMPANIES = ["安居", "嘉和", "万家", "恒泰", "康居", "宜家", "润泽", "德信"]
PROPERTY_COMPANIES = 10  # the district's companies, topped up to this many


# ------------------------------------------------------------------------------------------ time


def _at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=workdays.TZ)


class _Clock:
    """Puts what the services stamped "now" back on the demo's calendar: the audit entries written since the last
    call are spread evenly over the phase's window, in the order they were written."""

    def __init__(self) -> None:
        self.mark = self._last()

    @staticmethod
    def _last() -> int:
        return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def stamp(self, start: dt.datetime, end: dt.datetime | None = None) -> list[AuditEntry]:
        rows = list(AuditEntry.objects.filter(pk__gt=self.mark).order_by("pk").only("pk", "at", "action",
                                                                                      "object_id", "after"))
        if not rows:
            return rows
        span = (end or start) - start
        for i, e in enumerate(rows):
            e.at = (start + span * (i / max(len(rows) - 1, 1))).replace(microsecond=0)
        AuditEntry.objects.bulk_update(rows, ["at"], batch_size=500)
        self.mark = rows[-1].pk
        return rows

    def skip(self) -> None:
        """Entries written with their own times (the bulk answers) stay as they are."""
        self.mark = self._last()


def _when(rows: Sequence[AuditEntry], action: str) -> dict[str, dt.datetime]:
    return {e.object_id: e.at for e in rows if e.action == action}


# ------------------------------------------------------------------------------------------ helpers


@dataclass
class _City:
    city: Area
    district: Area
    street: Area
    first: Area  # the demo accounts' community
    users: dict[str, Any]
    clock: _Clock
    rng: random.Random
    residents: dict[str, list[tuple[int, str]]]  # community path → (person, home path) without an account
    today: dt.date


def _points(rng: random.Random, top: Decimal, quality: float, *, share: float = 0.5) -> Decimal:
    """A rater's points on one indicator: full marks with probability ``quality``, else a deduction in half points."""
    if rng.random() < quality:
        return top
    steps = int(top / HALF)
    k = rng.randint(1, max(1, int(steps * share)))
    return max(Decimal(0), top - HALF * k)


def _score_sheet(c: _City, sheet: Assignment, rater: Any, leaves: Sequence[Indicator], notes: dict[int, list[str]],
                 quality: float, *, share: float = 0.5, submit: bool = True) -> None:
    scores: dict[int, tuple[Any, str]] = {}
    for ind in leaves:
        points = _points(c.rng, ind.max_points, quality, share=share)
        note = ""
        if points < ind.max_points:
            note = c.rng.choice(notes[ind.pk]).format(b=c.rng.randint(1, 12))
        scores[ind.pk] = (points, note)
    services.sheet_save(actor=rater, sheet=sheet, scores=scores, submit=submit)


def _rating(rng: random.Random, quality: float) -> int:
    """An answer on the scale 5 非常满意 … 1 非常不满意 from a subject of ``quality`` (0 … 1)."""
    q = min(max(quality, 0.0), 1.0)
    weights = [(1 - q) * 0.25, (1 - q) * 0.4, 0.15 + (1 - q) * 1.2, 0.6 + (1 - q) * 0.6, q ** 3 * 6]
    return rng.choices([1, 2, 3, 4, 5], weights=weights)[0]


def _answers(c: _City, rnd: Round, subject: Subject, pool: Sequence[tuple[int, str]], n: int, quality: float,
             kind: str, start: dt.datetime, end: dt.datetime, out: list[SurveyAnswer],
             trail: list[AuditEntry]) -> None:
    """``n`` residents of ``pool`` answer for ``subject``: the rows :func:`.services.survey_answer` writes."""
    rng = c.rng
    span = (end - start).total_seconds()
    people = list(dict.fromkeys(pool))
    for person_id, home in rng.sample(people, min(n, len(people))):
        rating = _rating(rng, quality)
        comment = ""
        if rating <= 2:
            comment = rng.choice(LOW_COMMENTS[kind])
        elif rating == 5 and rng.random() < 0.15:
            comment = rng.choice(GOOD_COMMENTS[kind])
        at = (start + dt.timedelta(seconds=rng.uniform(0, span))).replace(microsecond=0)
        out.append(SurveyAnswer(round=rnd, subject=subject, voter=services.voter_key(rnd.pk, person_id),
                                rating=rating, comment=comment, area_path=home, at=at))
        entry = audit.pending(actor=None, action="assessment.survey.answer", obj=rnd, after={"subject": subject.pk},
                              area_path=rnd.area_path)
        entry.at = at
        trail.append(entry)


def _write_answers(c: _City, answers: list[SurveyAnswer], trail: list[AuditEntry]) -> None:
    SurveyAnswer.objects.bulk_create(answers, batch_size=2000)
    audit.record_many(sorted(trail, key=lambda e: e.at), batch_size=2000)
    c.clock.skip()


def _step(c: _City, actor: Any, rnd: Round, name: str, at: dt.datetime, **kw: Any) -> Round:
    rnd = services.round_step(actor=actor, round=rnd, name=name, **kw)
    c.clock.stamp(at)
    return rnd


def _scheme(c: _City, actor: Any, *, area: Area, name: str, kind: str, period: str, description: str,
            created: dt.datetime) -> tuple[Scheme, SchemeVersion]:
    scheme = services.scheme_create(actor=actor, area=area, name=name, subject_kind=kind, period=period,
                                    description=description)
    Scheme.objects.filter(pk=scheme.pk).update(created_at=created)
    return scheme, selectors.latest_version(scheme)


def _publish_version(c: _City, actor: Any, version: SchemeVersion, at: dt.datetime) -> None:
    services.version_publish(actor=actor, version=version)
    SchemeVersion.objects.filter(pk=version.pk).update(published_at=at)
    c.clock.stamp(at)


def _to_notice_and_publish(c: _City, actor: Any, rnd: Round, notice: dt.datetime, published: dt.datetime,
                           *, between: Callable[[Round], None] | None = None) -> Round:
    """公示 from ``notice``, then 发布 on ``published`` (the notice period lies in the demo's past)."""
    rnd = _step(c, actor, rnd, "to_notice", notice)
    days = rnd.scheme_version.objection_days
    Round.objects.filter(pk=rnd.pk).update(notice_until=notice.date() + dt.timedelta(days=days),
                                           computed_at=notice)
    rnd.refresh_from_db()
    if between is not None:
        between(rnd)
    rnd = _step(c, actor, rnd, "publish", published)
    Round.objects.filter(pk=rnd.pk).update(published_at=published)
    rule = rnd.scheme_version.sanction or {}
    if rule:
        Sanction.objects.filter(subject__round=rnd).update(
            starts_on=published.date(), ends_on=published.date() + dt.timedelta(days=int(rule.get("bar_days", 0))),
            created_at=published)
    rnd.refresh_from_db()
    return rnd


def _sheets_submitted(rows: Sequence[AuditEntry]) -> None:
    when = _when(rows, "assessment.sheet.submit")
    sheets = list(Assignment.objects.filter(pk__in=[int(k) for k in when]).only("pk", "submitted_at"))
    for s in sheets:
        s.submitted_at = when[str(s.pk)]
    Assignment.objects.bulk_update(sheets, ["submitted_at"], batch_size=500)


def _reviews_dated(rows: Sequence[AuditEntry]) -> None:
    for e in rows:
        if e.action == "assessment.review" and isinstance(e.after, dict):
            Review.objects.filter(subject_id=e.after["subject"], stage=e.after["stage"]).update(at=e.at)


def _round(c: _City, actor: Any, scheme: Scheme, *, name: str, area: Area, key: str, start: dt.date, end: dt.date,
           due: dt.date, created: dt.datetime) -> Round:
    rnd = services.round_create(actor=actor, scheme=scheme, name=name, area=area, period_key=key,
                                period_start=start, period_end=end, scoring_due=due)
    Round.objects.filter(pk=rnd.pk).update(created_at=created)
    c.clock.stamp(created)
    rnd.refresh_from_db()
    return rnd


def _quarters(today: dt.date, n: int) -> list[tuple[str, dt.date, dt.date]]:
    """The last ``n`` quarters ended before ``today``, oldest first: (key, first day, last day)."""
    year, q = today.year, (today.month - 1) // 3  # the current quarter's index; the one before is finished
    out = []
    for _ in range(n):
        q -= 1
        if q < 0:
            year, q = year - 1, 3
        first = dt.date(year, 3 * q + 1, 1)
        nxt = dt.date(year + (q == 3), (3 * q + 3) % 12 + 1, 1)
        out.append((f"{year}Q{q + 1}", first, nxt - dt.timedelta(days=1)))
    return out[::-1]


# ------------------------------------------------------------------------------------------ 1. property companies


def _companies(c: _City) -> list[MemberUnit]:
    """The district's property companies, topped up to :data:`PROPERTY_COMPANIES` through the registry's service
    (each on a community that had none)."""
    have = list(MemberUnit.objects.filter(sector=Sector.PROPERTY, area__path__startswith=c.district.path)
                .order_by("pk"))
    served = {u.area_id for u in have}
    free = [a for a in Area.objects.filter(kind=AreaKind.COMMUNITY, path__startswith=c.district.path).order_by("path")
            if a.pk not in served]
    taken = {n for n in MemberUnit.objects.values_list("name", flat=True)}
    words = [w for w in NEW_COMPANIES if f"{w}物业服务有限公司" not in taken]
    while len(have) < PROPERTY_COMPANIES and free and words:
        home = free.pop(c.rng.randrange(len(free)))
        name = f"{words.pop(0)}物业服务有限公司"
        have.append(registry.unit_create(
            actor=None, area=home, name=name, credit_code=credit_code(c.rng, c.district.code), sector=Sector.PROPERTY,
            address=f"{home.name}服务中心", contact_name="", staff_count=c.rng.randint(20, 120),
            reason="物业服务企业备案"))
    return have


def _property(c: _City) -> dict[str, int]:
    district, rater_dept, rater_dist, rater_party = (c.users["district"], c.users["unit"], c.users["district"],
                                                     c.users["secretary"])
    companies = _companies(c)
    c.clock.stamp(_at(dt.date(2024, 12, 20)))
    scheme, v1 = _scheme(
        c, district, area=c.district, name="物业服务企业考评", kind=SubjectKind.PROPERTY_COMPANY,
        period=Period.QUARTERLY, created=_at(dt.date(2025, 1, 6), 10),
        description="党建、环境、秩序、设施、服务、满意度等60项指标；每季度考评，年底由物业主管部门、社区党组织及业主代表"
                    "三方按4:4:2的比例评分，结果以“红黑榜”形式公开亮晒并记入信用档案。")
    notes: dict[str, list[str]] = {}
    for h, (heading, guidance, leaves) in enumerate(PROPERTY, start=1):
        branch = services.indicator_add(actor=district, version=v1, code=str(h), name=heading, guidance=guidance)
        for i, (name, points, rule, evidence, deduction) in enumerate(leaves, start=1):
            code = f"{h}.{i}"
            services.indicator_add(actor=district, version=v1, code=code, name=name, max_points=points,
                                   parent=branch, guidance=rule, evidence=evidence)
            notes[code] = [deduction]
    services.group_add(actor=district, version=v1, name="物业主管部门", weight=4)
    services.group_add(actor=district, version=v1, name="社区党组织", weight=4)
    services.group_add(actor=district, version=v1, name="业主代表", weight=2, kind=GroupKind.RESIDENTS)
    services.version_update(actor=district, version=v1, honour_count=3, shame_count=1, min_answers=15,
                            objection_days=5, evidence_required=True)
    c.clock.stamp(_at(dt.date(2025, 1, 6), 10), _at(dt.date(2025, 1, 8), 17))
    _publish_version(c, district, v1, _at(dt.date(2025, 1, 10), 9))

    # Each company's standing: most are decent, one lags behind all year (the year-end's last place).
    quality = {u.pk: c.rng.uniform(0.7, 0.95) for u in companies}
    laggard = c.rng.choice(companies)
    quality[laggard.pk] = 0.55
    counts = {"sheets": 0, "answers": 0}
    resident = c.users.get("resident")
    year = 2025
    plan: list[tuple[str, str, dt.date, dt.date, dt.date]] = [
        (f"{year}Q{q}", f"{year}年第{'一二三'[q - 1]}季度物业服务企业考评", dt.date(year, 3 * q - 2, 1),
         dt.date(year, 3 * q + 1, 1) - dt.timedelta(days=1), dt.date(year, 3 * q + 1, 1)) for q in (1, 2, 3)]
    for key, name, start, end, after in plan:
        _property_round(c, scheme, key=key, name=name, start=start, end=end, opens=after, quality=quality,
                        notes=notes, counts=counts, resident=resident, raters=(rater_dept, rater_dist, rater_party),
                        late=key.endswith("Q2"))

    # The year-end round: version 2 adds the sanction (年度末位禁入) before it starts.
    v2 = services.version_new_draft(actor=district, scheme=scheme)
    services.version_update(actor=district, version=v2, sanction={"last_places": 1, "bar_days": 365})
    c.clock.stamp(_at(dt.date(2025, 12, 10), 15))
    _publish_version(c, district, v2, _at(dt.date(2025, 12, 15), 9))
    for u in companies:
        quality[u.pk] = min(0.97, quality[u.pk] + c.rng.uniform(-0.03, 0.03))
    final = _property_round(
        c, scheme, key=str(year), name=f"{year}年度物业服务企业综合考评", start=dt.date(year, 1, 1),
        end=dt.date(year, 12, 31), opens=dt.date(year + 1, 1, 4), quality=quality, notes=notes, counts=counts,
        resident=resident, raters=(rater_dept, rater_dist, rater_party), objection=True)
    return {"assessment_property_rounds": 4, "assessment_sheets": counts["sheets"],
            "assessment_answers": counts["answers"],
            "assessment_sanctions": Sanction.objects.filter(subject__round=final).count()}


def _property_round(c: _City, scheme: Scheme, *, key: str, name: str, start: dt.date, end: dt.date, opens: dt.date,
                    quality: dict[int, float], notes: dict[str, list[str]], counts: dict[str, int],
                    resident: Any, raters: tuple[Any, Any, Any], late: bool = False,
                    objection: bool = False) -> Round:
    district = c.users["district"]
    dept, dist, party = raters
    rnd = _round(c, district, scheme, name=name, area=c.district, key=key, start=start, end=end,
                 due=opens + dt.timedelta(days=14), created=_at(opens - dt.timedelta(days=6), 10))
    subjects = list(rnd.subjects.select_related("unit").order_by("pk"))
    groups = list(rnd.scheme_version.groups.order_by("order"))
    g_dept, g_party = groups[0], groups[1]
    services.assign(actor=district, round=rnd, group=g_dept, rater=dept, subjects=subjects)
    services.assign(actor=district, round=rnd, group=g_dept, rater=dist, subjects=subjects)
    services.assign(actor=district, round=rnd, group=g_party, rater=party, subjects=subjects)
    rnd = services.round_step(actor=district, round=rnd, name="open_scoring")
    c.clock.stamp(_at(opens - dt.timedelta(days=5), 10), _at(opens, 9))

    leaves = selectors.scored_indicators(rnd)
    by_pk = {i.pk: notes[i.code] for i in leaves}
    bias = {dept.pk: -0.03, dist.pk: 0.0, party.pk: 0.02}
    sheets = list(Assignment.objects.filter(round=rnd).select_related("subject", "rater").order_by("pk"))
    skipped = c.rng.choice(subjects).pk if late else None
    for sheet in sheets:
        q = quality[sheet.subject.unit_id or 0] + bias[sheet.rater_id] + c.rng.uniform(-0.03, 0.03)
        # One sheet of the second quarter is saved but never submitted: late, the subject is marked incomplete.
        submit = not (sheet.subject_id == skipped and sheet.rater_id == party.pk)
        _score_sheet(c, sheet, sheet.rater, leaves, by_pk, q, submit=submit)
        counts["sheets"] += 1
    rows = c.clock.stamp(_at(opens, 9), _at(opens + dt.timedelta(days=12), 17))
    _sheets_submitted(rows)

    # 业主代表: owners of the compounds each company serves answer from their phones.
    answers: list[SurveyAnswer] = []
    trail: list[AuditEntry] = []
    window = (_at(opens, 8), _at(opens + dt.timedelta(days=12), 21))
    mine = None
    for s in subjects:
        community = s.area_path[:16]
        if resident is not None and c.first.path == community:
            mine = s
        _answers(c, rnd, s, c.residents.get(community, []), c.rng.randint(22, 40), quality[s.unit_id or 0],
                 "property", *window, answers, trail)
    _write_answers(c, answers, trail)
    counts["answers"] += len(answers)
    if mine is not None:  # the demo resident answers for her own compound's company herself
        answer = services.survey_answer(actor=resident, subject=mine, rating=4, comment="")
        at = _at(opens + dt.timedelta(days=2), 20, 15)
        SurveyAnswer.objects.filter(pk=answer.pk).update(at=at)
        c.clock.stamp(at)
        counts["answers"] += 1

    closing = opens + dt.timedelta(days=14)
    rnd = _step(c, district, rnd, "close_scoring", _at(closing, 16))

    def objected(r: Round) -> None:
        if not objection or resident is None or mine is None:
            return
        filed = services.objection_file(actor=resident, subject=mine,
                                        text="我们小区电梯今年困人两次，物业维修服务一项得分偏高，请复核。")
        c.clock.stamp(_at(closing + dt.timedelta(days=3), 19, 40))
        services.objection_answer(actor=district, objection=filed,
                                  answer="经复核，两次困人均已在30分钟内救援，维修记录完整；已在“电梯困人救援”一项"
                                         "按规定扣分，评分有据，维持原结果。")
        rows = c.clock.stamp(_at(closing + dt.timedelta(days=5), 10, 30))
        Objection.objects.filter(pk=filed.pk).update(at=_at(closing + dt.timedelta(days=3), 19, 40),
                                                     answered_at=rows[-1].at)

    return _to_notice_and_publish(c, district, rnd, _at(closing + dt.timedelta(days=1), 10),
                                  _at(closing + dt.timedelta(days=1 + rnd.scheme_version.objection_days + 2), 9),
                                  between=objected)


# ------------------------------------------------------------------------------------------ 2. grid bands


def _grids(c: _City) -> dict[str, int]:
    street = c.users["street"]
    quarters = _quarters(c.today, 4)
    first_start = quarters[0][1]
    scheme, v = _scheme(
        c, street, area=c.street, name="网格评价（红蓝黄三色网格）", kind=SubjectKind.GRID, period=Period.QUARTERLY,
        created=_at(first_start - dt.timedelta(days=20), 10),
        description="每季度对辖区网格从好到差评选“红蓝黄”三色网格：红色网格占30%，蓝色40%，黄色30%。"
                    "诉求满意率和按期办结率由平台按网格的诉求数据自动计算。")
    notes: dict[int, list[str]] = {}
    for i, (name, points, rule, evidence, deductions) in enumerate(GRID, start=1):
        ind = services.indicator_add(actor=street, version=v, code=str(i), name=name, max_points=points,
                                     guidance=rule, evidence=evidence)
        notes[ind.pk] = deductions
    services.indicator_add(actor=street, version=v, code="5", name="诉求满意率", max_points=20,
                           source=Source.CASE_SATISFACTION, guidance="按本季度网格内诉求的满意率折算")
    services.indicator_add(actor=street, version=v, code="6", name="诉求按期办结率", max_points=15,
                           source=Source.CASE_ON_TIME, guidance="按本季度网格内诉求的按期办结率折算")
    services.group_add(actor=street, version=v, name="街道网格管理中心", weight=1)
    services.version_update(actor=street, version=v, band_basis="rank",
                            bands=[{"name": "红", "share": 30}, {"name": "蓝", "share": 40},
                                   {"name": "黄", "share": 30}],
                            honour_count=0, shame_count=0, objection_days=3)
    c.clock.stamp(_at(first_start - dt.timedelta(days=20), 10), _at(first_start - dt.timedelta(days=15), 16))
    _publish_version(c, street, v, _at(first_start - dt.timedelta(days=12), 9))

    grids = list(Area.objects.filter(kind=AreaKind.GRID, path__startswith=c.street.path).order_by("path"))
    standing = {g.pk: c.rng.uniform(0.3, 0.8) for g in grids}
    sheets = 0
    for key, start, end in quarters:
        opens = end + dt.timedelta(days=1)
        q = int(key[-1])
        rnd = _round(c, street, scheme, name=f"{start.year}年第{'一二三四'[q - 1]}季度网格评价", area=c.street,
                     key=key, start=start, end=end, due=opens + dt.timedelta(days=8),
                     created=_at(end - dt.timedelta(days=3), 15))
        subjects = list(rnd.subjects.order_by("pk"))
        group = rnd.scheme_version.groups.get()
        services.assign(actor=street, round=rnd, group=group, rater=street, subjects=subjects)
        rnd = services.round_step(actor=street, round=rnd, name="open_scoring")
        c.clock.stamp(_at(end - dt.timedelta(days=3), 15), _at(opens, 9))
        leaves = selectors.scored_indicators(rnd)
        for sheet in Assignment.objects.filter(round=rnd).select_related("subject").order_by("pk"):
            quality = standing[sheet.subject.area_id or 0] + c.rng.uniform(-0.08, 0.08)
            _score_sheet(c, sheet, street, leaves, notes, quality, share=0.3)
            sheets += 1
        rows = c.clock.stamp(_at(opens, 9), _at(opens + dt.timedelta(days=7), 17))
        _sheets_submitted(rows)
        closing = opens + dt.timedelta(days=9)
        rnd = _step(c, street, rnd, "close_scoring", _at(closing, 16))
        _to_notice_and_publish(c, street, rnd, _at(closing + dt.timedelta(days=1), 9),
                               _at(closing + dt.timedelta(days=5), 9))
    return {"assessment_grid_rounds": len(quarters), "assessment_grid_sheets": sheets}


def _grid_workers(c: _City) -> dict[str, int]:
    """天长's 三最: every half year the street assesses its grid workers on their posts (the grid's case figures are
    theirs) and names 最美、最勤、最满意 from the result — one round, for the last half year that has ended."""
    street = c.users["street"]
    year, half = (c.today.year, 1) if c.today.month > 6 else (c.today.year - 1, 2)
    start, end = (dt.date(year, 1, 1), dt.date(year, 6, 30)) if half == 1 else (dt.date(year, 7, 1),
                                                                                dt.date(year, 12, 31))
    scheme, v = _scheme(
        c, street, area=c.street, name="网格员半年考评（“三最”评选）", kind=SubjectKind.GRID_WORKER,
        period=Period.HALF_YEAR, created=_at(start - dt.timedelta(days=10), 10),
        description="每半年对在岗网格员考评一次，按总分评选“最美网格员”，按走访入户评选“最勤网格员”，"
                    "按所在网格诉求满意率评选“最满意网格员”。")
    notes: dict[int, list[str]] = {}
    for i, (name, points, rule, evidence, deductions) in enumerate(GRID[:3], start=1):
        ind = services.indicator_add(actor=street, version=v, code=str(i), name=name, max_points=points,
                                     guidance=rule, evidence=evidence)
        notes[ind.pk] = deductions
    services.indicator_add(actor=street, version=v, code="4", name="所在网格诉求满意率", max_points=25,
                           source=Source.CASE_SATISFACTION, guidance="按半年内所在网格诉求的满意率折算")
    services.indicator_add(actor=street, version=v, code="5", name="所在网格诉求按期办结率", max_points=20,
                           source=Source.CASE_ON_TIME, guidance="按半年内所在网格诉求的按期办结率折算")
    services.group_add(actor=street, version=v, name="街道网格管理中心", weight=1)
    services.version_update(actor=street, version=v, honour_count=3, shame_count=0, objection_days=5,
                            awards=[{"name": "最美网格员", "indicator": ""}, {"name": "最勤网格员", "indicator": "1"},
                                    {"name": "最满意网格员", "indicator": "4"}])
    c.clock.stamp(_at(start - dt.timedelta(days=10), 10), _at(start - dt.timedelta(days=8), 16))
    _publish_version(c, street, v, _at(start - dt.timedelta(days=7), 9))
    opens = end + dt.timedelta(days=1)
    rnd = _round(c, street, scheme, name=f"{year}年{'上' if half == 1 else '下'}半年网格员考评", area=c.street,
                 key=f"{year}H{half}", start=start, end=end, due=opens + dt.timedelta(days=10),
                 created=_at(end - dt.timedelta(days=5), 15))
    subjects = list(rnd.subjects.order_by("pk"))
    if not subjects:
        return {}
    services.assign(actor=street, round=rnd, group=rnd.scheme_version.groups.get(), rater=street, subjects=subjects)
    rnd = services.round_step(actor=street, round=rnd, name="open_scoring")
    c.clock.stamp(_at(end - dt.timedelta(days=5), 15), _at(opens, 9))
    leaves = selectors.scored_indicators(rnd)
    for sheet in Assignment.objects.filter(round=rnd).select_related("subject").order_by("pk"):
        _score_sheet(c, sheet, street, leaves, notes, c.rng.uniform(0.35, 0.85), share=0.3)
    _sheets_submitted(c.clock.stamp(_at(opens, 9), _at(opens + dt.timedelta(days=8), 17)))
    closing = opens + dt.timedelta(days=11)
    rnd = _step(c, street, rnd, "close_scoring", _at(closing, 16))
    _to_notice_and_publish(c, street, rnd, _at(closing + dt.timedelta(days=1), 9),
                           _at(closing + dt.timedelta(days=7), 9))
    return {"assessment_grid_worker_subjects": len(subjects)}


# ------------------------------------------------------------------------------------------ 3. five-star communities


def _stars(c: _City) -> dict[str, int]:
    district, street, worker = c.users["district"], c.users["street"], c.users["community"]
    year = c.today.year
    start, end = dt.date(year - 1, 11, 1), dt.date(year, 10, 31)
    scheme, v = _scheme(
        c, district, area=c.district, name="五星级和谐社区评定", kind=SubjectKind.COMMUNITY, period=Period.ANNUAL,
        created=_at(dt.date(year, 8, 20), 10),
        description="按照“自愿申报、初审推荐、评审考核、公示授牌”的程序，采取居民测评、社区自评、街道筛评、区级总评的"
                    "方式，对小区长效管护和群众满意度进行评估；考评分95分以上、群众满意率90%以上的评为五星级和谐社区。")
    notes: dict[int, list[str]] = {}
    for h, (heading, items) in enumerate(STARS, start=1):
        branch = services.indicator_add(actor=district, version=v, code=str(h), name=heading)
        for i, (name, points, rule, evidence, deductions) in enumerate(items, start=1):
            ind = services.indicator_add(actor=district, version=v, code=f"{h}.{i}", name=name, max_points=points,
                                         parent=branch, guidance=rule, evidence=evidence)
            notes[ind.pk] = deductions
    system = services.indicator_add(actor=district, version=v, code=str(len(STARS) + 1), name="平台数据")
    services.indicator_add(actor=district, version=v, code=f"{len(STARS) + 1}.1", name="诉求满意率", max_points=10,
                           parent=system, source=Source.CASE_SATISFACTION)
    services.indicator_add(actor=district, version=v, code=f"{len(STARS) + 1}.2", name="议事会议按期召开率",
                           max_points=5, parent=system, source=Source.COUNCIL_CADENCE)
    services.group_add(actor=district, version=v, name="区考评组", weight=7)
    services.group_add(actor=district, version=v, name="居民测评", weight=3, kind=GroupKind.RESIDENTS)
    services.version_update(
        actor=district, version=v, self_assessment=True,
        stages=[{"name": "街道筛评", "level": "street"}, {"name": "区级总评", "level": "district"}],
        stars=[{"level": 5, "min_score": 95, "min_satisfaction": 90},
               {"level": 4, "min_score": 90, "min_satisfaction": 85},
               {"level": 3, "min_score": 85, "min_satisfaction": 80}],
        honour_count=3, shame_count=0, min_answers=30, objection_days=7)
    c.clock.stamp(_at(dt.date(year, 8, 20), 10), _at(dt.date(year, 8, 28), 16))
    _publish_version(c, district, v, _at(dt.date(year, 9, 1), 9))

    rnd = _round(c, district, scheme, name=f"{year}年度五星级和谐社区评定", area=c.district, key=str(year),
                 start=start, end=end, due=dt.date(year, 11, 2), created=_at(dt.date(year, 9, 25), 10))
    subjects = list(rnd.subjects.select_related("area").order_by("area_path"))
    # Three communities that have kept their renovated compounds well; the rest decent to middling.
    quality = {s.pk: c.rng.uniform(0.5, 0.85) for s in subjects}
    best = c.rng.sample(subjects, min(3, len(subjects)))
    for s in best:
        quality[s.pk] = c.rng.uniform(0.975, 0.99)
    failed = c.rng.choice([s for s in subjects if s not in best]) if len(subjects) > 3 else None
    if failed is not None:
        quality[failed.pk] = 0.93

    rnd = _step(c, district, rnd, "open_self", _at(dt.date(year, 10, 8), 9))
    for s in subjects:
        own = street if s.area_path.startswith(c.street.path) else district
        if s.area_path == c.first.path:
            own = worker
        claim = min(Decimal(100), Decimal(str(round(88 + quality[s.pk] * 10 + c.rng.uniform(-2, 2), 1))))
        services.self_assess(actor=own, subject=s, score=claim,
                             note=f"{s.name}自愿申报五星级和谐社区：改造小区管护机制健全，议事协商常态开展，"
                                  "居民满意度稳步提升。")
    c.clock.stamp(_at(dt.date(year, 10, 9), 9), _at(dt.date(year, 10, 20), 17))

    group = rnd.scheme_version.groups.get(kind=GroupKind.STAFF)
    services.assign(actor=district, round=rnd, group=group, rater=district, subjects=subjects)
    services.assign(actor=district, round=rnd, group=group, rater=street,
                    subjects=[s for s in subjects if s.area_path.startswith(c.street.path)])
    rnd = services.round_step(actor=district, round=rnd, name="open_scoring")
    c.clock.stamp(_at(dt.date(year, 10, 21), 9))
    leaves = selectors.scored_indicators(rnd)
    sheets = 0
    for sheet in Assignment.objects.filter(round=rnd).select_related("subject", "rater").order_by("pk"):
        _score_sheet(c, sheet, sheet.rater, leaves, notes, quality[sheet.subject_id] + c.rng.uniform(-0.02, 0.02),
                     share=0.4)
        sheets += 1
    rows = c.clock.stamp(_at(dt.date(year, 10, 22), 9), _at(dt.date(year, 11, 1), 17))
    _sheets_submitted(rows)
    answers: list[SurveyAnswer] = []
    trail: list[AuditEntry] = []
    for s in subjects:
        _answers(c, rnd, s, c.residents.get(s.area_path, []), c.rng.randint(40, 60), quality[s.pk], "community",
                 _at(dt.date(year, 10, 21), 8), _at(dt.date(year, 11, 2), 21), answers, trail)
    _write_answers(c, answers, trail)
    rnd = _step(c, district, rnd, "close_scoring", _at(dt.date(year, 11, 3), 16))

    # 街道筛评: the street reviews its communities, the district those of the streets without a reviewer account.
    subjects = list(rnd.subjects.select_related("round").order_by("area_path"))
    for s in subjects:
        reviewer = street if s.area_path.startswith(c.street.path) else district
        if failed is not None and s.pk == failed.pk:
            services.review_record(actor=reviewer, subject=s, verdict=Verdict.FAIL,
                                   note="本年度辖区改造小区发生一起电动车入户充电引发的火灾，按评定办法实行一票否决。")
        else:
            services.review_record(actor=reviewer, subject=s, verdict=Verdict.PASS, note="材料齐全，同意推荐")
    rows = c.clock.stamp(_at(dt.date(year, 11, 4), 9), _at(dt.date(year, 11, 6), 17))
    _reviews_dated(rows)
    rnd = _step(c, district, rnd, "advance", _at(dt.date(year, 11, 6), 17, 30))
    for s in rnd.subjects.filter(withdrawn=False).select_related("round").order_by("area_path"):
        services.review_record(actor=district, subject=s, verdict=Verdict.PASS, note="经区级总评，同意")
    rows = c.clock.stamp(_at(dt.date(year, 11, 7), 9), _at(dt.date(year, 11, 9), 17))
    _reviews_dated(rows)
    _to_notice_and_publish(c, district, rnd, _at(dt.date(year, 11, 10), 9), _at(dt.date(year, 11, 18), 10))
    return {"assessment_star_sheets": sheets, "assessment_star_answers": len(answers)}


# ------------------------------------------------------------------------------------------ 4. residents score units


def _units(c: _City, size: str) -> dict[str, int]:
    org = c.users["orgadmin"]
    year = c.today.year - 1
    area = c.city if size == "small" else c.district
    scheme, v = _scheme(
        c, org, area=c.city, name="驻区单位和帮扶部门群众评议", kind=SubjectKind.MEMBER_UNIT, period=Period.ANNUAL,
        created=_at(dt.date(year, 11, 20), 10),
        description="年末由社区组织不少于50名党员群众对驻区单位和结对帮扶部门进行评议，评议结果纳入单位年度考核；"
                    "评议人数不足50人的结果无效。")
    for i, (name, points, rule) in enumerate(UNIT_ITEMS, start=1):
        services.indicator_add(actor=org, version=v, code=str(i), name=name, max_points=points, guidance=rule)
    services.group_add(actor=org, version=v, name="党员群众评议", weight=1, kind=GroupKind.RESIDENTS)
    services.version_update(actor=org, version=v, min_answers=50, honour_count=5, shame_count=3, objection_days=7)
    c.clock.stamp(_at(dt.date(year, 11, 20), 10), _at(dt.date(year, 11, 25), 16))
    _publish_version(c, org, v, _at(dt.date(year, 11, 28), 9))

    rnd = _round(c, org, scheme, name=f"{year}年度驻区单位和帮扶部门群众评议", area=area, key=str(year),
                 start=dt.date(year, 1, 1), end=dt.date(year, 12, 31), due=dt.date(year, 12, 31),
                 created=_at(dt.date(year, 12, 1), 10))
    rnd = _step(c, org, rnd, "open_scoring", _at(dt.date(year, 12, 10), 9))
    subjects = list(rnd.subjects.select_related("unit", "unit__area").order_by("pk"))
    # Who answers for a unit: residents of the communities a department is paired with, else of the unit's street.
    paired: dict[int, list[str]] = defaultdict(list)
    for unit_id, path in Pairing.objects.filter(kind=PairingKind.DEPARTMENT_COMMUNITY).values_list(
            "unit_id", "area__path").order_by("pk"):
        paired[unit_id].append(path)
    by_street: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for community, people in c.residents.items():
        by_street[community[:12]].extend(people)
    invalid = c.rng.choice([s for s in subjects if s.unit is not None and s.unit.sector == Sector.NON_PUBLIC]
                           or subjects) if subjects else None
    answers: list[SurveyAnswer] = []
    trail: list[AuditEntry] = []
    for s in subjects:
        unit = s.unit
        assert unit is not None
        if paired.get(unit.pk):
            pool = [p for path in paired[unit.pk] for p in c.residents.get(path, [])]
        else:
            pool = by_street.get(unit.area.path[:12]) or [p for ps in c.residents.values() for p in ps]
        n = c.rng.randint(38, 46) if invalid is not None and s.pk == invalid.pk else c.rng.randint(54, 86)
        _answers(c, rnd, s, pool, n, c.rng.uniform(0.55, 0.95), "unit", _at(dt.date(year, 12, 10), 8),
                 _at(dt.date(year, 12, 30), 21), answers, trail)
    _write_answers(c, answers, trail)
    resident = c.users.get("resident")
    home = Person.objects.filter(user=resident).values_list("area__path", flat=True).first() if resident else None
    if resident is not None and home:
        mine = next((s for s in subjects if s.unit_id and any(home.startswith(p) for p in paired.get(s.unit_id, []))),
                    None)
        if mine is not None:
            answer = services.survey_answer(actor=resident, subject=mine, rating=5, comment="结对单位经常来社区走访")
            at = _at(dt.date(year, 12, 15), 19, 30)
            SurveyAnswer.objects.filter(pk=answer.pk).update(at=at)
            c.clock.stamp(at)
    rnd = _step(c, org, rnd, "close_scoring", _at(dt.date(year + 1, 1, 5), 16))
    _to_notice_and_publish(c, org, rnd, _at(dt.date(year + 1, 1, 6), 9), _at(dt.date(year + 1, 1, 15), 10))
    return {"assessment_unit_answers": len(answers)}


# ------------------------------------------------------------------------------------------ the loader


def load(*, size: str, seed: int, today: dt.date, progress: Callable[[str, float], None]) -> dict[str, int]:
    progress("考评", 0.0)
    first = Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path").first()
    names = ["district", "street", "unit", "secretary", "community", "orgadmin", "resident"]
    users = {u.username: u for u in get_user_model().objects.filter(username__in=names)}
    if first is None or not set(names) - {"resident"} <= set(users):
        return {}
    residents: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for pk, path in Person.objects.filter(area__kind=AreaKind.BUILDING, user__isnull=True).order_by("pk") \
            .values_list("pk", "area__path"):
        residents[path[:16]].append((pk, path))
    c = _City(city=Area.objects.get(depth=1), district=Area.objects.get(path=first.path[:8]),
              street=Area.objects.get(path=first.path[:12]), first=first, users=users, clock=_Clock(),
              rng=random.Random(seed + 1212), residents=dict(residents), today=today)
    counts: dict[str, int] = {}
    for i, part in enumerate((_property, _grids, _grid_workers, _stars)):
        counts.update(part(c))
        progress("考评", (i + 1) / 5)
    counts.update(_units(c, size))
    progress("考评", 1.0)
    counts["assessment_rounds"] = Round.objects.count()
    return counts

