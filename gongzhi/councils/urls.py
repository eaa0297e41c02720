from django.urls import path

app_name = "councils"
urlpatterns: list = [
    path("", lambda request: __import__("django.http").http.HttpResponse("councils"), name="index"),
]
