from django.urls import path

from . import views

app_name = "sites"
urlpatterns = [
    path("", views.site_list, name="list"),
    path("new/", views.site_edit, name="new"),
    path("coverage/", views.coverage_page, name="coverage"),
    path("bookings/", views.mine, name="mine"),
    path("bookings/<int:pk>/cancel/", views.booking_cancel, name="booking_cancel"),
    path("<int:pk>/", views.site_detail, name="detail"),
    path("<int:pk>/edit/", views.site_edit, name="edit"),
    path("<int:pk>/book/", views.booking_create, name="book"),
    path("<int:pk>/rooms/", views.room_create, name="room_create"),
    path("<int:pk>/duty/", views.duty_save, name="duty"),
]
