from django.apps import AppConfig


class MapsConfig(AppConfig):
    name = "gongzhi.maps"
    verbose_name = "一张图"
