from django.urls import path

from . import exports, views

app_name = "councils"
urlpatterns = [
    path("", views.index, name="index"),
    path("figures.xlsx", exports.figures_xlsx, name="figures_xlsx"),
    path("public/", views.public, name="public"),
    path("kinds/", views.kinds, name="kinds"),
    path("<int:pk>/", views.council_detail, name="council"),
    path("<int:pk>/ledger.xlsx", views.ledger_xlsx, name="ledger"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting"),
    path("meetings/<int:pk>/minutes.docx", views.minutes, name="minutes"),
    path("meetings/<int:pk>/notice.docx", views.notice, name="notice"),
    path("items/<int:pk>/", views.item_detail, name="item"),
]
