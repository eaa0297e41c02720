from django.urls import URLPattern, path

from . import views, views_hotspots, views_replies

app_name = "dispatch"
urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("versions/", views.version_act, name="version_act"),
    path("settings/", views.settings_page, name="settings"),
    path("hotspots/", views_hotspots.hotspots, name="hotspots"),
    path("hotspots/act/", views_hotspots.hotspot_act, name="hotspot_act"),
    path("replies/", views_replies.replies, name="replies"),
]
