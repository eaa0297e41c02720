from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("setup/", views.setup, name="setup"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_new, name="user_new"),
    path("users/<int:pk>/", views.user_detail, name="user"),
    path("roles/", views.roles, name="roles"),
    path("import/", views.staff_import, name="import"),
    path("import/template.xlsx", views.staff_template, name="template"),
    path("password/", views.password_change, name="password"),
    path("register/", views.register, name="register"),
    path("register/code/", views.send_code, name="send_code"),
    path("registrations/", views.registrations, name="registrations"),
    path("registrations/<int:pk>/", views.registration_detail, name="registration"),
]
