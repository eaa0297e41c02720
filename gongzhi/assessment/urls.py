from django.urls import path

from . import views

app_name = "assessment"
urlpatterns = [
    path("", views.index, name="index"),
    path("schemes/new/", views.scheme_new, name="scheme_new"),
    path("schemes/<int:pk>/", views.scheme_detail, name="scheme"),
    path("schemes/<int:pk>/indicators/", views.indicator_add, name="indicator_add"),
    path("schemes/<int:pk>/groups/", views.group_add, name="group_add"),
    path("schemes/<int:pk>/rules/", views.rules_update, name="rules"),
    path("schemes/<int:pk>/publish/", views.version_publish, name="publish"),
    path("schemes/<int:pk>/draft/", views.version_new_draft, name="new_draft"),
    path("schemes/<int:pk>/rounds/new/", views.round_new, name="round_new"),
    path("indicators/<int:pk>/remove/", views.indicator_remove, name="indicator_remove"),
    path("groups/<int:pk>/remove/", views.group_remove, name="group_remove"),
    path("rounds/<int:pk>/", views.round_detail, name="round"),
    path("rounds/<int:pk>/step/", views.round_step, name="round_step"),
    path("rounds/<int:pk>/assign/", views.assign, name="assign"),
    path("subjects/<int:pk>/", views.subject_detail, name="subject"),
    path("subjects/<int:pk>/review/", views.review, name="review"),
    path("subjects/<int:pk>/objection/", views.objection_file, name="objection"),
    path("subjects/<int:pk>/declare/", views.declare, name="declare"),
    path("objections/<int:pk>/answer/", views.objection_answer, name="objection_answer"),
    path("sheets/<int:pk>/", views.sheet, name="sheet"),
    path("survey/", views.survey, name="survey"),
    path("survey/<int:pk>/", views.survey_answer, name="survey_answer"),
    path("units/<int:pk>/credit/", views.credit_file, name="credit_file"),
    path("sanctions/<int:pk>/lift/", views.sanction_lift, name="sanction_lift"),
    path("public/", views.public, name="public"),
    path("public/<int:pk>/", views.board, name="board"),
]
