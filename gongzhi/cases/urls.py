from django.urls import path

from . import config_urls, mediation_views, views

app_name = "cases"
urlpatterns = [
    path("", views.workbench, name="workbench"),
    path("report/", views.report, name="report"),
    path("mine/", views.mine, name="mine"),
    path("public/", views.public, name="public"),
    path("public/<int:pk>/", views.public_case, name="public_case"),
    path("figures/", views.figures, name="figures"),
    path("ledger/", views.ledger_export, name="ledger_page"),
    path("ledger.xlsx", views.ledger_export, name="ledger"),
    path("figures.xlsx", views.figures_xlsx, name="figures_xlsx"),
    path("figures.pdf", views.figures_pdf, name="figures_pdf"),
    path("<int:pk>/", views.case_detail, name="case"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("mediation/teams/", mediation_views.teams, name="mediation_teams"),
    path("mediation/teams/new/", mediation_views.team_new, name="mediation_team_new"),
    path("mediation/teams/<int:pk>/", mediation_views.team_detail, name="mediation_team"),
    path("mediation/teams/<int:pk>/edit/", mediation_views.team_edit, name="mediation_team_edit"),
    path("mediation/new/", mediation_views.open_case, name="mediation_new"),
    path("<int:pk>/mediation/team/", mediation_views.assign, name="mediation_assign"),
]
urlpatterns += config_urls.urlpatterns
