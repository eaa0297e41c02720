"""Placeholder: the JSON API (django-ninja) is mounted here at /api/v1/."""


urlpatterns: list = []
