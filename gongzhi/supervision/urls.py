from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("reports/", views.reports, name="reports"),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("reports/<int:pk>/step/", views.report_step, name="report_step"),
    path("checks/", views.checks, name="checks"),
    path("checks/<int:pk>/", views.check_detail, name="check"),
    path("findings/<int:pk>/step/", views.finding_step, name="finding_step"),
    path("ledger/<str:kind>.xlsx", views.ledger_export, name="ledger_export"),
]
