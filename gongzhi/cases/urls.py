from django.urls import path

from . import config_urls, views

app_name = "cases"
urlpatterns = [
    path("", views.workbench, name="workbench"),
    path("report/", views.report, name="report"),
    path("mine/", views.mine, name="mine"),
    path("public/", views.public, name="public"),
    path("public/<int:pk>/", views.public_case, name="public_case"),
    path("figures/", views.figures, name="figures"),
    path("ledger.xlsx", views.ledger_export, name="ledger"),
    path("<int:pk>/", views.case_detail, name="case"),
    path("photos/<int:pk>/", views.photo, name="photo"),
]
urlpatterns += config_urls.urlpatterns
