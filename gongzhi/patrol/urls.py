from django.urls import path

from . import views

app_name = "patrol"
urlpatterns = [
    path("", views.index, name="index"),
    path("figures/", views.figures, name="figures"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:pk>/", views.plan_detail, name="plan"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path("plans/<int:pk>/end/", views.plan_end, name="plan_end"),
    path("plans/<int:pk>/start/", views.round_start, name="round_start"),
    path("rounds/<int:pk>/", views.round_detail, name="round"),
    path("rounds/<int:pk>/visits/", views.visit_add, name="visit_add"),
    path("rounds/<int:pk>/close/", views.round_close, name="round_close"),
    path("checks/<int:pk>/", views.check_save, name="check"),
    path("checks/<int:pk>/case/", views.check_case, name="check_case"),
    path("checks/<int:pk>/photo/", views.photo, name="photo"),
    path("visits/<int:pk>/case/", views.visit_case, name="visit_case"),
]
