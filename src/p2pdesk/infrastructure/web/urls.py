from django.contrib.auth import views as auth_views
from django.urls import path

from p2pdesk.infrastructure.web import dashboard, leads, queues, tickets
from p2pdesk.infrastructure.web.forms import EmailLoginForm

app_name = "web"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html",
            authentication_form=EmailLoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="web:login"), name="logout"),
    path("", queues.my_queue, name="my-queue"),
    path("tray/", queues.team_tray, name="team-tray"),
    path("tickets/<uuid:ticket_id>/", tickets.ticket_page, name="ticket"),
    path("team/", leads.team_page, name="team"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
]
