"""Pages for configuring the case pipeline: the working-day calendar and routing rules."""

from django.urls import URLPattern, path

from . import config_views

urlpatterns: list[URLPattern] = [
    path("calendar/", config_views.calendar_page, name="calendar"),
    path("routing/", config_views.routing_page, name="routing"),
]
