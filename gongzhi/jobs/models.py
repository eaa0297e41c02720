"""A background job as its owner sees it: what it is, how far it got, and what came out (a file or an error report).

The task library (django-tasks with its database backend) queues and runs the work; this record is the page's
view of it. The state moves only forward, queued → running → done | failed, each step a conditional UPDATE in
``services`` so two workers never run one job twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobKind(models.TextChoices):
    REGISTRY_IMPORT = "registry_import", _("台账导入")
    REGISTRY_DRY_RUN = "registry_dry_run", _("台账预检")
    REGISTRY_EXPORT = "registry_export", _("台账导出")
    DISPATCH_TRAIN = "dispatch_train", _("派单模型训练")


class JobState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("进行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


FINISHED = (JobState.DONE, JobState.FAILED)


class Job(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(_("类型"), max_length=32, choices=JobKind.choices)
    label = models.CharField(_("名称"), max_length=200)
    params = models.JSONField(default=dict, blank=True)  # the sheet kind and the export's filters
    state = models.CharField(_("状态"), max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Storage names under MEDIA_ROOT/jobs/: the uploaded file (removed once the job has read it) and the result.
    source = models.CharField(max_length=300, blank=True)
    result = models.CharField(max_length=300, blank=True)
    result_name = models.CharField(max_length=200, blank=True)  # the file name offered for download
    report = models.JSONField(default=dict, blank=True)  # counts: rows, created, updated, unchanged, refused
    errors = models.JSONField(default=list, blank=True)  # [{"row", "column", "reason"}]
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        indexes = [models.Index(fields=["owner", "-id"], name="jobs_owner_recent")]

    def __str__(self) -> str:
        return self.label

    @property
    def finished(self) -> bool:
        return self.state in FINISHED
