from django.urls import path

from . import editing, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("areas/", views.areas, name="areas"),
    path("areas/new/", editing.area_new, name="area_new"),
    path("areas/<int:pk>/", views.area_detail, name="area"),
    path("areas/<int:pk>/edit/", editing.area_edit, name="area_edit"),
    path("areas/<int:pk>/children/", views.area_children, name="area_children"),
    path("orgs/", views.orgs, name="orgs"),
    path("orgs/<int:pk>/", views.org_detail, name="org"),
    path("members/", views.members, name="members"),
    path("units/", views.units, name="units"),
    path("units/new/", editing.unit_new, name="unit_new"),
    path("units/<int:pk>/", views.unit_detail, name="unit"),
    path("units/<int:pk>/edit/", editing.unit_edit, name="unit_edit"),
    path("people/", views.people, name="people"),
    path("people/new/", editing.person_new, name="person_new"),
    path("people/<int:pk>/", views.person_detail, name="person"),
    path("people/<int:pk>/edit/", editing.person_edit, name="person_edit"),
    path("pairings/", views.pairings, name="pairings"),
    path("pairings/new/", editing.pairing_new, name="pairing_new"),
    path("pairings/<int:pk>/", editing.pairing_detail, name="pairing"),
    path("pairings/<int:pk>/visits/", editing.visit_new, name="visit_new"),
    path("pairings/<int:pk>/commitments/", editing.commitment_new, name="commitment_new"),
    path("pairings/<int:pk>/items/<int:item_pk>/fulfil/", editing.item_fulfil, name="item_fulfil"),
    path("groups/", views.groups, name="groups"),
    path("transfer/", views.transfer, name="transfer"),
    path("transfer/template/<str:kind>.xlsx", views.template_download, name="template"),
    path("export/<str:kind>.xlsx", views.export, name="export"),
]
