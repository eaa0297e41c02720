"""Pages for configuring the case pipeline: the working-day calendar and routing rules."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
