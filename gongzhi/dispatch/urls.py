from django.urls import URLPattern, path

from . import views

app_name = "dispatch"
urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("versions/", views.version_act, name="version_act"),
    path("settings/", views.settings_page, name="settings"),
]

# hot spots
try:
    from . import views_hotspots

    urlpatterns += [path("hotspots/", views_hotspots.hotspots, name="hotspots"),
                    path("hotspots/act/", views_hotspots.hotspot_act, name="hotspot_act")]
except ImportError:  # pragma: no cover - while the part is being written
    pass

# replies
try:
    from . import views_replies

    urlpatterns += [path("replies/", views_replies.replies, name="replies")]
except ImportError:  # pragma: no cover
    pass
