from django.urls import path

from . import views

app_name = "govservice"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("catalogue.xlsx", views.catalogue_export, name="catalogue_export"),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("window/", views.window, name="window"),
    path("department/", views.department, name="department"),
    path("mine/", views.mine, name="mine"),
    path("figures/", views.figures, name="figures"),
    path("applications/<int:pk>/", views.application, name="application"),
    path("applications/<int:pk>/step/", views.application_step, name="application_step"),
    path("applications/<int:pk>/materials/<int:material>/", views.material_provide, name="material_provide"),
    path("applications/<int:pk>/rectification/", views.rectification_answer, name="rectification_answer"),
]
