from django.urls import URLPattern

from .views import admission, bookings, funds, home, library, projects

app_name = "cobuild"
urlpatterns: list[URLPattern] = [
    *home.urlpatterns, *library.urlpatterns, *projects.urlpatterns, *bookings.urlpatterns,
    *admission.urlpatterns, *funds.urlpatterns,
]
