"""Co-building's part of the JSON API (mounted under /api/v1/ by gongzhi.api), one router per part."""

from ninja import Router

from . import admission, bookings, figures, funds, library, projects

router = Router()
for part in (library, projects, bookings, admission, funds, figures):
    router.add_router("", part.router)
