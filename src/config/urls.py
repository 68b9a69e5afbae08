from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("p2pdesk.infrastructure.api.urls")),
    path("desk/", include("p2pdesk.infrastructure.web.urls")),
    path("", RedirectView.as_view(url="/desk/")),
]
