from django.urls import path

from . import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("areas/", views.areas, name="areas"),
    path("areas/<int:pk>/", views.area_detail, name="area"),
    path("areas/<int:pk>/children/", views.area_children, name="area_children"),
    path("orgs/", views.orgs, name="orgs"),
    path("units/", views.units, name="units"),
    path("units/new/", views.unit_new, name="unit_new"),
    path("units/<int:pk>/", views.unit_detail, name="unit"),
    path("people/", views.people, name="people"),
    path("people/new/", views.person_new, name="person_new"),
    path("people/<int:pk>/", views.person_detail, name="person"),
    path("pairings/", views.pairings, name="pairings"),
    path("pairings/<int:pk>/", views.pairing_detail, name="pairing"),
    path("groups/", views.groups, name="groups"),
    path("transfer/", views.transfer, name="transfer"),
    path("transfer/template/<str:kind>.xlsx", views.template_download, name="template"),
    path("export/<str:kind>.xlsx", views.export, name="export"),
]
