from django.conf import settings
from django.conf.urls.static import static
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("gongzhi.api.urls")),
    path("cases/", include("gongzhi.cases.urls")),
    path("councils/", include("gongzhi.councils.urls")),
    path("open311/v2/", include("gongzhi.cases.open311")),
    path("inbox/", include("gongzhi.notifications.urls")),
    path("accounts/", include("gongzhi.accounts.urls")),
    path("patrol/", include("gongzhi.patrol.urls")),
    path("cobuild/", include("gongzhi.cobuild.urls")),
    path("jobs/", include("gongzhi.jobs.urls")),
    path("dispatch/", include("gongzhi.dispatch.urls")),
    path("assessment/", include("gongzhi.assessment.urls")),
    path("points/", include("gongzhi.points.urls")),
    path("supervision/", include("gongzhi.supervision.urls")),
    path("services/", include("gongzhi.govservice.urls")),
    path("sites/", include("gongzhi.sites.urls")),
    path("map/", include("gongzhi.maps.urls")),
    path("", include("gongzhi.web.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
