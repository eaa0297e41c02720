from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gongzhi.accounts import services
from gongzhi.core.errors import DomainError


class Command(BaseCommand):
    help = ("首次启动：在空数据库中建立城市根节点和第一个系统管理员。"
            "First start: create the city root and the first system administrator in an empty database.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--city-name", required=True, help="城市名称，如 共治市")
        parser.add_argument("--city-code", required=True, help="GB/T 2260 行政区划代码（6位或12位）")
        parser.add_argument("--username", required=True, help="管理员用户名")
        parser.add_argument("--display-name", default="", help="管理员姓名")
        parser.add_argument("--password-env", default="GONGZHI_ADMIN_PASSWORD",
                            help="从该环境变量读取密码（默认 GONGZHI_ADMIN_PASSWORD）；未设置时交互输入")

    def handle(self, *args: Any, city_name: str, city_code: str, username: str, display_name: str,
               password_env: str, **options: Any) -> None:
        password = os.environ.get(password_env) or ""
        if not password:
            if not os.isatty(0):
                raise CommandError(f"请在环境变量 {password_env} 中提供密码 (set {password_env})")
            password = getpass.getpass("管理员密码 password: ")
            if getpass.getpass("再次输入 again: ") != password:
                raise CommandError("两次输入的密码不一致 (passwords differ)")
        try:
            user = services.bootstrap(city_name=city_name, city_code=city_code, username=username,
                                      password=password, display_name=display_name)
        except DomainError as exc:
            fields = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.fields.items())
            raise CommandError(f"{exc.message} {fields}".strip()) from None
        self.stdout.write(f"已建立 {city_name}（{city_code}）和系统管理员 {user.get_username()}")
