from django.urls import path

from . import views

app_name = "points"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("items/<int:pk>/redeem/", views.redeem, name="redeem"),
    path("claims/<int:pk>/step/", views.claim_step, name="claim_step"),
    path("redemptions/<int:pk>/step/", views.redemption_step, name="redemption_step"),
    path("queue/", views.queue, name="queue"),
    path("rules/", views.rules, name="rules"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("store/", views.store, name="store"),
    path("store/items/new/", views.item_new, name="item_new"),
    path("store/items/<int:pk>/edit/", views.item_edit, name="item_edit"),
    path("store/items/<int:pk>/restock/", views.item_restock, name="item_restock"),
    path("store/counter/", views.counter, name="counter"),
    path("people/<int:pk>/", views.person_account, name="person"),
    path("figures/", views.figures, name="figures"),
]
